"""/api/audit/: the audit log as JSON, and its streamed export (DESIGN section 6).

Lists are keyset pages, newest first, like every list of the API. `count` is exact up to
COUNT_LIMIT; past that it reads COUNT_LIMIT with `count_exact: false`, because an exact count of
a loose filter over a million rows would cost more than the page.
"""

from typing import Any

from django.core.exceptions import ValidationError
from ninja import Query, Router, Schema

from wlpanel.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor

from .choices import Source
from .export import FORMATS, audit_export_response, audit_export_start
from .forms import AuditFilterForm, filter_errors
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


class AuditFilterQuery(Schema):
    """The review page's filters, as query parameters; validated by the same form."""

    q: str = ""
    actor: str = ""
    team: str = ""
    environment: str = ""
    action: str = ""
    source: str = ""
    since: str = ""
    until: str = ""


def _audit_filter(filters: AuditFilterQuery) -> AuditFilter:
    form = AuditFilterForm({name: value for name, value in filters.dict().items() if value})
    if not form.is_valid():
        raise ValidationError(filter_errors(form))
    return form.to_filter()


@router.get("/events", response=AuditEventList, summary="List audit events")
def events_list(
    request,
    filters: Query[AuditFilterQuery],
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
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


@router.get("/events/export", summary="Export audit events (CSV or JSON Lines, streamed)")
def events_export(request, filters: Query[AuditFilterQuery], format: str = "jsonl"):
    """Every row the filter selects, oldest first, with `prev_hash` and `hash`. Auditors and
    admins only; the export itself is audited (`audit.exported`)."""
    if format not in FORMATS:
        raise ValidationError({"format": ["Give csv or jsonl."]})
    audit_filter = _audit_filter(filters)
    events = audit_export_start(
        user=request.user, audit_filter=audit_filter, export_format=format, source=Source.API, request=request
    )
    return audit_export_response(events, export_format=format)
