"""Streamed exports of the audit log, as CSV and as JSON Lines.

Memory stays flat at a million rows: rows leave in batches as the client reads them. Every row
carries `prev_hash`, `hash` and `created_at` exactly as it was hashed, so an auditor can
re-verify each row offline (docs/audit.md shows how).

On PostgreSQL the database formats the rows and streams them out of `COPY (<the filtered query>)
TO STDOUT`: CSV as COPY writes it, JSON Lines built by `json_build_object`. Python only forwards
bytes, which is what makes the export several times faster than building each row in Python (the
portable path below, used on the SQLite stand-in and held to the same output by the tests).
"""

import csv
import io
import json
from collections.abc import Iterator

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import QuerySet, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.http import StreamingHttpResponse
from django.utils import timezone

from accounts.selectors import user_sees_all

from .models import AuditEvent
from .selectors import AuditFilter, audit_events_filter, audit_events_visible_to
from .services import record, request_context

FORMATS = ("csv", "jsonl")
CHUNK_SIZE = 5000  # rows per server-side cursor fetch
BATCH_SIZE = 1000  # rows per chunk of the response body
COPY_FLUSH_BYTES = 256 * 1024  # COPY hands over one row at a time; send them in larger pieces

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
TAIL_COLUMNS = ("ip_address", "user_agent", "correlation_id", "prev_hash", "hash", "chain_scheme")
COLUMNS = SCALAR_COLUMNS + JSON_COLUMNS + TAIL_COLUMNS

CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/jsonl; charset=utf-8"}

# Spreadsheets run a cell starting with one of these as a formula (OWASP "CSV injection"); such
# cells get a leading apostrophe. Only free-text columns can start that way.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_TEXT_COLUMNS = frozenset(
    {"actor_username", "action", "target_type", "target_id", "target_repr", "team_slug", "user_agent", "correlation_id"}
)


# --- PostgreSQL: the database formats each row -------------------------------------------------------

# Python's datetime.isoformat() of a UTC time, which is what the hash covers: microseconds only
# when there are any, the offset written +00:00.
_CREATED_AT_SQL = (
    "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
    "CASE WHEN mod(date_part('microseconds', created_at)::bigint, 1000000) = 0 THEN '' "
    "ELSE to_char(created_at AT TIME ZONE 'UTC', '.US') END || '+00:00'"
)
_DEFUSED_SQL = "CASE WHEN left({0}, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) THEN chr(39) || {0} ELSE {0} END"


def _column_sql(name: str, *, for_csv: bool) -> str:
    if name == "created_at":
        return _CREATED_AT_SQL
    if name == "ip_address":
        return "host(ip_address)"  # without the /32 that inet's text form would add
    if for_csv and name in _TEXT_COLUMNS:
        return _DEFUSED_SQL.format(name)
    return name


def _pg_select(events: QuerySet[AuditEvent], expressions: dict[str, str]) -> QuerySet:
    """The filtered rows, oldest first, as the given SQL expressions (constants, no user input)."""
    annotations = {alias: RawSQL(sql, [], output_field=TextField()) for alias, sql in expressions.items()}  # noqa: S611
    return events.order_by("id").annotate(**annotations).values_list(*annotations)


def _pg_copy_chunks(events: QuerySet[AuditEvent], expressions: dict[str, str], options: str) -> Iterator[bytes]:
    """`COPY (<the filtered query>) TO STDOUT`, forwarded in pieces of about COPY_FLUSH_BYTES."""
    sql, params = _pg_select(events, expressions).query.sql_with_params()
    pending = bytearray()
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY ({sql}) TO STDOUT ({options})", params) as copy:
        for data in copy:
            pending += data
            if len(pending) >= COPY_FLUSH_BYTES:
                yield bytes(pending)
                pending.clear()
    if pending:
        yield bytes(pending)


def _pg_csv_chunks(events: QuerySet[AuditEvent]) -> Iterator[bytes]:
    yield (",".join(COLUMNS) + "\n").encode()
    yield from _pg_copy_chunks(
        events, {f"c_{name}": _column_sql(name, for_csv=True) for name in COLUMNS}, "FORMAT csv"
    )


def _pg_jsonl_chunks(events: QuerySet[AuditEvent]) -> Iterator[bytes]:
    pairs = ", ".join(f"'{name}', {_column_sql(name, for_csv=False)}" for name in COLUMNS)
    # One JSON document per line, verbatim. COPY's text format would double every backslash; its
    # CSV format with quote and delimiter characters that JSON text never holds unescaped (control
    # characters 1 and 2) writes each value exactly as it is, then a newline.
    yield from _pg_copy_chunks(
        events, {"line": f"json_build_object({pairs})::text"}, "FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01'"
    )


# --- Portable: Python formats each row ------------------------------------------------------------------


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


def python_csv_chunks(events: QuerySet[AuditEvent]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def render(row: tuple) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(_csv_cell(name, value) for name, value in zip(COLUMNS, row, strict=True))
        return buffer.getvalue()

    writer.writerow(COLUMNS)
    yield buffer.getvalue()
    yield from _batched(_rows(events), render)


def _csv_cell(name: str, value):
    if value is None:
        return ""
    if name == "created_at":
        return value.isoformat()
    if name in _TEXT_COLUMNS and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def python_jsonl_chunks(events: QuerySet[AuditEvent]) -> Iterator[str]:
    scalar_count = len(SCALAR_COLUMNS)
    json_end = scalar_count + len(JSON_COLUMNS)

    def render(row: tuple) -> str:
        scalars = dict(zip(SCALAR_COLUMNS, row[:scalar_count], strict=True))
        scalars["created_at"] = scalars["created_at"].isoformat()
        tail = dict(zip(TAIL_COLUMNS, row[json_end:], strict=True))
        # The JSON columns are already JSON text from the database: splice them in as they are.
        spliced = "".join(
            f'"{name}":{text if text is not None else "null"},'
            for name, text in zip(JSON_COLUMNS, row[scalar_count:json_end], strict=True)
        )
        return json.dumps(scalars)[:-1] + "," + spliced + json.dumps(tail)[1:] + "\n"

    yield from _batched(_rows(events), render)


def csv_chunks(events: QuerySet[AuditEvent]) -> Iterator[str | bytes]:
    return _pg_csv_chunks(events) if connection.vendor == "postgresql" else python_csv_chunks(events)


def jsonl_chunks(events: QuerySet[AuditEvent]) -> Iterator[str | bytes]:
    return _pg_jsonl_chunks(events) if connection.vendor == "postgresql" else python_jsonl_chunks(events)


# --- The export ----------------------------------------------------------------------------------------


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


def audit_export_response(events: QuerySet[AuditEvent], *, export_format: str) -> StreamingHttpResponse:
    """A streamed download of `events` in `export_format` (one of FORMATS)."""
    chunks = csv_chunks(events) if export_format == "csv" else jsonl_chunks(events)
    response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[export_format])
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{export_format}"'
    response["Cache-Control"] = "no-store"
    return response
