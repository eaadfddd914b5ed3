"""/api/audit/: the audit log as JSON, and its streamed export (DESIGN section 6).

Lists are keyset pages, newest first, like every list of the API. `count` is exact up to
COUNT_LIMIT; past that it reads COUNT_LIMIT with `count_exact: false`, because an exact count of
a loose filter over a million rows would cost more than the page.
"""

from typing import Annotated, Any, Literal

from django.core.exceptions import ValidationError
from ninja import Query, Router, Schema
from pydantic import Field

from wlpanel.api_errors import answers
from wlpanel.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor

from .choices import Source
from .export import FORMATS, audit_export_response, audit_export_start
from .forms import FILTER_BOUNDS, AuditFilterForm, filter_errors
from .models import AuditEvent
from .selectors import (
    AuditFilter,
    audit_events_count,
    audit_events_filter,
    audit_events_page,
    audit_events_visible_to,
)

router = Router(tags=["audit"])

COUNT_LIMIT = 10_000


class AuditEventOut(Schema):
    id: int
    created_at: str  # ISO 8601 exactly as hashed, so a row can be re-verified from the API too
    actor_id: int | None
    actor_username: str
    source: str
    action: str
    target_type: str
    target_id: str
    target_repr: str
    team_slug: str
    environment_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    details: dict[str, Any]
    ip_address: str | None
    user_agent: str
    correlation_id: str
    prev_hash: str
    hash: str


class AuditEventList(Schema):
    items: list[AuditEventOut]
    count: int
    count_exact: bool
    next: str | None


def _event_out(event: AuditEvent) -> dict[str, Any]:
    return {name: getattr(event, name) for name in AuditEventOut.model_fields} | {
        "created_at": event.created_at.isoformat()
    }


def _bounded(name: str, description: str = ""):
    """A filter as the form bounds it (audit.forms.FILTER_BOUNDS), stated in the OpenAPI document."""
    return Annotated[str, Field(max_length=FILTER_BOUNDS[name], description=description)]


class AuditFilterQuery(Schema):
    """The review page's filters, as query parameters; validated by the same form (no NUL anywhere)."""

    q: _bounded("q", "Searches action, actor, target and details.") = ""
    actor: _bounded("actor") = ""
    team: _bounded("team") = ""
    environment: _bounded("environment", "An environment id.") = ""
    action: _bounded("action", "Exact, or a prefix ending in * (request.*).") = ""
    source: Literal["", *Source.values] = ""
    since: _bounded("since", "ISO date or date-time (UTC).") = ""
    until: _bounded("until", "ISO date or date-time (UTC); a date means its end.") = ""


def _audit_filter(filters: AuditFilterQuery) -> AuditFilter:
    form = AuditFilterForm({name: value for name, value in filters.dict().items() if value})
    if not form.is_valid():
        raise ValidationError(filter_errors(form))
    return form.to_filter()


@router.get("/events", response=answers({200: AuditEventList}, 400), summary="List audit events")
def events_list(
    request,
    filters: Query[AuditFilterQuery],
    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_-]*$")] | None = None,
):
    """Rows the caller may see, newest first. `q` searches action, actor, target and details;
    `action` ending in `*` is a prefix; `since`/`until` are ISO dates or date-times (UTC)."""
    audit_filter = _audit_filter(filters)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError({"limit": [f"Give a limit from 1 to {MAX_LIMIT}."]})
    events = audit_events_filter(audit_events_visible_to(request.user), audit_filter)
    before = decode_cursor(cursor) if cursor else None
    page = audit_events_page(events, before=before, size=limit)
    count, exact = audit_events_count(events, limit=COUNT_LIMIT)
    return {
        "items": [_event_out(event) for event in page.events],
        "count": count,
        "count_exact": exact,
        "next": encode_cursor(page.older) if page.older else None,
    }


_EXPORT_ANSWERS = answers({}, 400, 403)
_EXPORT_CONTENT = {"text/csv": {"schema": {"type": "string"}}, "application/jsonl": {"schema": {"type": "string"}}}


@router.get(
    "/events/export",
    response=_EXPORT_ANSWERS,
    summary="Export audit events (CSV or JSON Lines, streamed)",
    openapi_extra={"responses": {"200": {"description": "The rows, oldest first.", "content": _EXPORT_CONTENT}}},
)
def events_export(request, filters: Query[AuditFilterQuery], format: Literal["csv", "jsonl"] = "jsonl"):
    """Every row the filter selects, oldest first, with `prev_hash` and `hash`. Auditors and
    admins only; the export itself is audited (`audit.exported`)."""
    if format not in FORMATS:
        raise ValidationError({"format": ["Give csv or jsonl."]})
    audit_filter = _audit_filter(filters)
    events = audit_export_start(
        user=request.user, audit_filter=audit_filter, export_format=format, source=Source.API, request=request
    )
    return audit_export_response(events, export_format=format)
