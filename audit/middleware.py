import re
import uuid

_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


class CorrelationIdMiddleware:
    """Give every request a correlation id of the server's own making; it follows the request into
    the audit log and the workers, and joins their rows into timelines, so a client never picks it
    (another team's id would join their calls to ours). A well-formed client `X-Request-ID` is
    kept apart as `client_request_id` (audit details), never used to join; the response echoes
    the server's id in X-Request-ID."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.client_request_id = incoming if _SAFE_ID.match(incoming) else ""
        request.correlation_id = uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-ID"] = request.correlation_id
        return response
