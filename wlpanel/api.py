"""The JSON API (docs/api.md): one NinjaAPI, routers from each app, one error shape.

Auth: `Authorization: Bearer <token>` (resolved by accounts.middleware.BearerTokenMiddleware) or
the session, which keeps CSRF on for unsafe methods. Errors: {"detail": ..., "errors": {field: [..]}}.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.http import Http404
from django.views.decorators.http import require_safe
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as SchemaValidationError
from ninja.utils import check_csrf

from audit.api import router as audit_router
from checks.api import router as checks_router
from clouds.api import router as clouds_router
from environments.api import router as environments_router
from environments.exceptions import Conflict, PlanMismatch
from environments.lease_api import router as lease_router
from notify.api import router as notify_router
from wlpanel.degraded import DETAIL, RETRY_AFTER_SECONDS

from .api_errors import describe_errors

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class PanelAuth:
    """A bearer token, or a logged-in session with CSRF enforced on writes."""

    openapi_type = "http"
    # What the OpenAPI document states (a browser session, with X-CSRFToken on writes, works too).
    openapi_security_schema = {
        "type": "http",
        "scheme": "bearer",
        "description": "`python manage.py issue_token USER` prints a token; send `Authorization: Bearer <token>`.",
    }

    def __call__(self, request):
        if getattr(request, "auth_via_token", False):
            return request.user
        if not request.user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise HttpError(403, "CSRF verification failed: send the X-CSRFToken header with session auth.")
        return request.user


class PanelAPI(NinjaAPI):
    def get_openapi_schema(self, *args, **kwargs):
        return describe_errors(super().get_openapi_schema(*args, **kwargs))


api = PanelAPI(
    title="wlpanel API",
    version="1",
    description="Self-service AWS Wavelength edge environments.",
    auth=PanelAuth(),
    urls_namespace="api",
    # Swagger UI from ninja's own static files ("ninja" is an installed app): no CDN, fits the CSP.
    docs_url="/docs",
    openapi_url="/openapi.json",
    docs_decorator=require_safe,  # the document is read, never written: other methods are 405
)


def error(request, status: int, detail: str, errors: dict | None = None):
    return api.create_response(request, {"detail": detail, "errors": errors or {}}, status=status)


@api.exception_handler(SchemaValidationError)
def schema_invalid(request, exc):
    errors: dict[str, list[str]] = {}
    for item in exc.errors:
        location = [str(part) for part in item.get("loc", []) if part not in ("body", "payload", "query", "path")]
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        if item.get("type") == "missing" and location == ["plan_hash"]:
            message = "Give the hash of the plan you reviewed (the request's plan_hash)."
        errors.setdefault(".".join(location) or "non_field_errors", []).append(message)
    return error(request, 400, "The request is not valid.", errors)


@api.exception_handler(DjangoValidationError)
def domain_invalid(request, exc):
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
    return error(request, 400, "The request is not valid.", errors)


@api.exception_handler(PermissionDenied)
def forbidden(request, exc):
    return error(request, 403, str(exc) or "You may not do that.")


@api.exception_handler(Http404)
def not_found(request, exc):
    return error(request, 404, str(exc) or "Not found.")


@api.exception_handler(Conflict)
def conflict(request, exc):
    body = {"detail": str(exc), "errors": getattr(exc, "errors", {})}
    if isinstance(exc, PlanMismatch):  # both hashes, so the client can tell which plan it was shown
        body |= {"given_plan_hash": exc.given, "plan_hash": exc.current}
    return api.create_response(request, body, status=409)


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    return error(request, 401, "Log in or send Authorization: Bearer <token>.")


@api.exception_handler(DatabaseError)
def database_unavailable(request, exc):
    response = error(request, 503, DETAIL)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


@api.exception_handler(HttpError)
def http_error(request, exc):
    return error(request, exc.status_code, str(exc))


api.add_router("/", environments_router)
api.add_router("/audit/", audit_router)
api.add_router("/", notify_router)
api.add_router("/", lease_router)
api.add_router("/", checks_router)
api.add_router("/", clouds_router)
