"""Degraded, not broken: while the database does not answer, say so with a 503 and Retry-After.

Django turns an exception anywhere in the stack (a view, a middleware loading the session or a
token) into a 500 page. `DatabaseUnavailableMiddleware`, outermost, replaces that answer when the
exception was a database error: JSON `{"detail", "errors"}` under /api/, the site's layout for
pages. The page is rendered without the request's context: the user, the session and messages
all live in the database that is down.
"""

from django.contrib.auth.models import AnonymousUser
from django.core.signals import got_request_exception
from django.db import DatabaseError, InterfaceError
from django.dispatch import receiver
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

RETRY_AFTER_SECONDS = 30
DETAIL = "The panel's database is not answering right now; nothing was changed. Try again shortly."
DATABASE_ERRORS = (DatabaseError, InterfaceError)


@receiver(got_request_exception)
def _note_database_error(sender, request=None, **kwargs) -> None:
    import sys

    error = sys.exc_info()[1]
    if request is not None and isinstance(error, DATABASE_ERRORS):
        request.wlpanel_database_error = error


def unavailable_response(request) -> HttpResponse:
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": DETAIL, "errors": {}}, status=503)
    else:
        page = render_to_string(
            "database_unavailable.html", {"user": AnonymousUser(), "messages": [], "detail": DETAIL}
        )
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            response = self.get_response(request)
        except DATABASE_ERRORS:
            return unavailable_response(request)
        if response.status_code == 500 and getattr(request, "wlpanel_database_error", None) is not None:
            return unavailable_response(request)
        return response
