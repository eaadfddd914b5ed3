"""Streamed exports of the audit log, as CSV and as JSON Lines.

Rows come from a server-side cursor in chunks (`iterator(chunk_size=...)`), are written in
batches, and leave as the client reads them: memory stays flat at a million rows. Every row
carries `prev_hash` and `hash`, and `created_at` exactly as it was hashed, so an auditor can
re-verify each row offline (docs/audit.md shows how).
"""

import csv
import io
import json
from collections.abc import Iterator

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from django.http import StreamingHttpResponse
from django.utils import timezone

from accounts.selectors import user_sees_all

from .models import AuditEvent
from .selectors import AuditFilter, audit_events_filter, audit_events_visible_to
from .services import record, request_context

FORMATS = ("csv", "jsonl")
CHUNK_SIZE = 5000  # rows per server-side cursor fetch
BATCH_SIZE = 500  # rows per chunk of the response body

SCALAR_COLUMNS = (
    "id",
    "created_at",
    "actor_id",
    "actor_username",
    "source",
    "action",
    "target_type",
    "target_id",
    "target_repr",
    "team_slug",
    "environment_id",
)
JSON_COLUMNS = ("before", "after", "details")
TAIL_COLUMNS = ("ip_address", "user_agent", "correlation_id", "prev_hash", "hash")
COLUMNS = SCALAR_COLUMNS + JSON_COLUMNS + TAIL_COLUMNS

CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}

# Spreadsheets run a cell starting with one of these as a formula (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _rows(events: QuerySet[AuditEvent]) -> Iterator[tuple]:
    """Oldest first (the chain's order), JSON columns as their stored text: decoding and
    re-encoding them would cost more than the rest of the row."""
    json_as_text = {f"{name}_json": Cast(name, TextField()) for name in JSON_COLUMNS}
    return (
        events.order_by("id")
        .annotate(**json_as_text)
        .values_list(*SCALAR_COLUMNS, *json_as_text, *TAIL_COLUMNS)
        .iterator(chunk_size=CHUNK_SIZE)
    )


def _batched(rows: Iterator[tuple], render) -> Iterator[str]:
    batch: list[str] = []
    for row in rows:
        batch.append(render(row))
        if len(batch) >= BATCH_SIZE:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def csv_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def render(row: tuple) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(_csv_cell(value) for value in row)
        return buffer.getvalue()

    writer.writerow(COLUMNS)
    yield buffer.getvalue()
    yield from _batched(_rows(events), render)


def _csv_cell(value):
    if value is None:
        return ""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def jsonl_lines(events: QuerySet[AuditEvent]) -> Iterator[str]:
    scalar_count = len(SCALAR_COLUMNS)
    json_end = scalar_count + len(JSON_COLUMNS)

    def render(row: tuple) -> str:
        scalars = dict(zip(SCALAR_COLUMNS, row[:scalar_count], strict=True))
        scalars["created_at"] = scalars["created_at"].isoformat()
        scalars.update(zip(TAIL_COLUMNS, row[json_end:], strict=True))
        # The JSON columns are already JSON text from PostgreSQL: splice them in as they are.
        spliced = "".join(
            f',"{name}":{text if text is not None else "null"}'
            for name, text in zip(JSON_COLUMNS, row[scalar_count:json_end], strict=True)
        )
        return json.dumps(scalars, separators=(",", ":"))[:-1] + spliced + "}\n"

    yield from _batched(_rows(events), render)


def audit_export_response(events: QuerySet[AuditEvent], *, export_format: str) -> StreamingHttpResponse:
    """A streamed download of `events` in `export_format` (one of FORMATS)."""
    lines = csv_lines(events) if export_format == "csv" else jsonl_lines(events)
    response = StreamingHttpResponse(lines, content_type=CONTENT_TYPES[export_format])
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{export_format}"'
    response["Cache-Control"] = "no-store"
    return response


def audit_export_allowed(user) -> bool:
    """Exports are the auditors' (and admins'): DESIGN section 5."""
    return user_sees_all(user)


def audit_export_start(*, user, audit_filter: AuditFilter, export_format: str, source: str, request=None):
    """Record who exports what, and return the rows to stream.

    The export is bounded by the newest row at this moment, so it is a consistent snapshot of
    the chain and does not chase rows written while it streams (its own `audit.exported` row
    included).
    """
    if not audit_export_allowed(user):
        raise PermissionDenied("Only auditors and admins export the audit log.")
    head_id = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    record(
        actor=user,
        action="audit.exported",
        target=None,
        source=source,
        details={"format": export_format, "filter": audit_filter.as_params(), "up_to_event": head_id},
        **request_context(request),
    )
    return audit_events_filter(audit_events_visible_to(user), audit_filter).filter(id__lte=head_id)
