"""The provider's endpoints, from its discovery document (`/.well-known/openid-configuration`).

Read once per process and issuer, on the first login, never at start-up: a provider that is down
must not stop the panel (its local break-glass login keeps working).
"""

import threading

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from mozilla_django_oidc.utils import import_from_settings

ENDPOINT_SETTINGS = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "OIDC_OP_LOGOUT_ENDPOINT": "end_session_endpoint",
}

_lock = threading.Lock()
_documents: dict[str, dict] = {}


def sso_enabled() -> bool:
    return bool(settings.WLPANEL_OIDC_ISSUER)


def provider_configuration() -> dict:
    issuer = settings.WLPANEL_OIDC_ISSUER.rstrip("/")
    if not issuer:
        raise ImproperlyConfigured("Single sign-on is not configured (WLPANEL_OIDC_ISSUER is empty).")
    with _lock:
        if issuer not in _documents:
            response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
            response.raise_for_status()
            document = response.json()
            if document.get("issuer", "").rstrip("/") != issuer:
                raise ImproperlyConfigured(f"The provider at {issuer} calls itself {document.get('issuer')!r}.")
            _documents[issuer] = document
        return _documents[issuer]


def oidc_setting(attr, *default):
    """mozilla-django-oidc's settings, with the provider's endpoints taken from discovery."""
    if attr in ENDPOINT_SETTINGS:
        return provider_configuration().get(ENDPOINT_SETTINGS[attr], *default)
    return import_from_settings(attr, *default)
