"""Log in, re-authenticate and log out through the provider (mozilla-django-oidc's views, with the
endpoints from discovery and the panel's re-authentication on top)."""

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpResponseRedirect
from django.urls import reverse
from mozilla_django_oidc import views as oidc_views

from audit.context import Origin

from .discovery import oidc_setting, provider_configuration, sso_enabled


class SsoEnabledMixin:
    def dispatch(self, request, *args, **kwargs):
        if not sso_enabled():
            raise Http404("Single sign-on is not configured.")
        return super().dispatch(request, *args, **kwargs)


class LoginStart(SsoEnabledMixin, oidc_views.OIDCAuthenticationRequestView):
    """To the provider's login page (authorization code flow with PKCE); `?reauth=1` makes the
    provider ask for the password again (`prompt=login`, `max_age=0`)."""

    get_settings = staticmethod(oidc_setting)

    def get_extra_params(self, request):
        if request.GET.get("reauth") and request.user.is_authenticated:
            request.session["sso_reauth_user"] = request.user.pk
            return {"prompt": "login", "max_age": "0"}
        request.session.pop("sso_reauth_user", None)
        return {}


class LoginCallback(SsoEnabledMixin, oidc_views.OIDCAuthenticationCallbackView):
    get_settings = staticmethod(oidc_setting)

    @property
    def failure_url(self):
        return reverse("login")

    def login_success(self):
        reauth_user = self.request.session.pop("sso_reauth_user", None)
        response = super().login_success()
        auth_time = self.request.session.pop("sso_auth_time", None)
        # Re-authentication counts from when the provider last checked the password, not from now:
        # a provider that skipped the prompt does not make an old login recent.
        self.request.session["authenticated_at"] = int(auth_time or time.time())
        if reauth_user == self.user.pk:
            if time.time() - self.request.session["authenticated_at"] > settings.WLPANEL_REAUTH_SECONDS:
                messages.error(self.request, "Your identity provider did not ask for your password again.")
            else:
                Origin.from_request(self.request).record(action="user.reauthenticated", target=self.user)
        return response


class Logout(oidc_views.OIDCLogoutView):
    """Ends the panel's session; after a provider login, goes on to the provider's end-session page."""

    get_settings = staticmethod(oidc_setting)

    def post(self, request):
        id_token = request.session.get("oidc_id_token")
        next_url = reverse(settings.LOGOUT_REDIRECT_URL)
        if request.user.is_authenticated:
            end_session = provider_logout_url(request, id_token) if id_token and sso_enabled() else None
            auth.logout(request)
            next_url = end_session or next_url
        return HttpResponseRedirect(next_url)


def provider_logout_url(request, id_token: str) -> str | None:
    endpoint = provider_configuration().get("end_session_endpoint")
    if not endpoint:
        return None
    query = {
        "id_token_hint": id_token,
        "client_id": settings.OIDC_RP_CLIENT_ID,
        "post_logout_redirect_uri": request.build_absolute_uri(reverse(settings.LOGOUT_REDIRECT_URL)),
    }
    return f"{endpoint}?{urlencode(query)}"


def reauth_url(next_url: str) -> str:
    return f"{reverse('sso:login')}?{urlencode({'reauth': 1, 'next': next_url})}"


class Login(auth_views.LoginView):
    """Django's login page, with the provider's button and the local form as the policy allows."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            sso_enabled=sso_enabled(),
            sso_name=settings.WLPANEL_OIDC_NAME,
            local_login=settings.WLPANEL_LOCAL_LOGIN,
            **kwargs,
        )
