import time

from django.conf import settings
from django.contrib.auth import logout
from django.http import JsonResponse

from .services import api_token_authenticate


class BearerTokenMiddleware:
    """`Authorization: Bearer <token>` authenticates /api/ requests; tokens skip CSRF (no cookies)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        header = request.headers.get("Authorization", "")
        request.auth_via_token = False
        if header.startswith("Bearer ") and request.path.startswith("/api/"):
            user = api_token_authenticate(header.removeprefix("Bearer ").strip())
            if user is None:
                return JsonResponse({"detail": "Invalid, expired or revoked token.", "errors": {}}, status=401)
            request.user = user
            request.auth_via_token = True
            request._dont_enforce_csrf_checks = True
        return self.get_response(request)


class IdleTimeoutMiddleware:
    """Log out a session that has been idle longer than WLPANEL_SESSION_IDLE_SECONDS."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not getattr(request, "auth_via_token", False) and request.user.is_authenticated:
            now = int(time.time())
            last_seen = request.session.get("last_seen", now)
            if now - last_seen > settings.WLPANEL_SESSION_IDLE_SECONDS:
                logout(request)
            else:
                # Write at most once a minute: polling pages should not rewrite the session each time.
                if now - last_seen >= 60 or "last_seen" not in request.session:
                    request.session["last_seen"] = now
        return self.get_response(request)
