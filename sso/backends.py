"""Authentication backends: the provider's (OIDC code flow with PKCE) and local passwords by policy."""

import logging

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import SuspiciousOperation
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts.selectors import user_get

from . import services
from .discovery import oidc_setting, provider_configuration, sso_enabled

log = logging.getLogger(__name__)


class LocalLoginBackend(ModelBackend):
    """Passwords, as `WLPANEL_LOCAL_LOGIN` allows: `all`, `admins` (break-glass only) or `off`."""

    def get_user(self, user_id):
        user = user_get(user_id)  # every request: its query compiled once per process
        return user if user is not None and self.user_can_authenticate(user) else None

    def user_can_authenticate(self, user):
        policy = settings.WLPANEL_LOCAL_LOGIN
        if policy == "off" or (policy == "admins" and not user.is_superuser):
            return False
        return super().user_can_authenticate(user)


class ProviderBackend(OIDCAuthenticationBackend):
    """The company's identity provider: users made on first login, roles from its groups claim."""

    get_settings = staticmethod(oidc_setting)

    def __init__(self, *args, **kwargs):
        self.enabled = sso_enabled()
        if self.enabled:
            super().__init__(*args, **kwargs)

    def authenticate(self, request, **kwargs):
        if not self.enabled or "code_verifier" not in kwargs:
            return None  # a password login, or SSO switched off
        try:
            return super().authenticate(request, **kwargs)
        except (SuspiciousOperation, jwt.InvalidTokenError, requests.RequestException) as exc:
            # A forged, expired or misdirected token, or a provider that did not answer: no login.
            log.warning("single sign-on failed: %s", exc)
            messages.error(request, "Single sign-on failed: the identity provider's answer was not accepted.")
            return None

    def get_user(self, user_id):
        return user_get(user_id)  # every request: its query compiled once per process

    def verify_token(self, token, **kwargs):
        """The signature and nonce (the library), then what it leaves out: expiry, issuer, audience."""
        payload = super().verify_token(token, **kwargs)  # pyjwt refuses an expired token here
        verify_audience_and_issuer(payload)
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        if claims.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("The userinfo answer is about another subject than the ID token.")
        try:
            user = services.identity_login(
                issuer=payload["iss"], claims=claims, request=self.request
            )
        except services.LoginRefused as refused:
            messages.error(self.request, str(refused))
            log.info("single sign-on refused for %s: %s", claims.get("sub"), refused)
            return None
        # When the person typed their password at the provider: re-authentication is measured from it.
        self.request.session["sso_auth_time"] = payload.get("auth_time")
        return user


def verify_audience_and_issuer(payload: dict) -> None:
    issuer = provider_configuration()["issuer"]
    if payload.get("iss") != issuer:
        raise SuspiciousOperation(f"The ID token was issued by {payload.get('iss')!r}, not {issuer!r}.")
    audience = payload.get("aud")
    audiences = [audience] if isinstance(audience, str) else list(audience or [])
    client_id = settings.OIDC_RP_CLIENT_ID
    if client_id not in audiences:
        raise SuspiciousOperation(f"The ID token is for {audiences!r}, not for this panel ({client_id!r}).")
    if len(audiences) > 1 and payload.get("azp") != client_id:
        raise SuspiciousOperation("The ID token names several audiences but was not issued to this panel.")
