"""Reads of the audit log: who sees which rows, filters, keyset pages, a row's context.

Every list is newest first by id and paged by keyset (`id < cursor`), never OFFSET, so a page a
year back costs what the first page costs. Time bounds are turned into id bounds through the
`created_at` index: the writer assigns both under the chain lock, so they rise together.
"""

import datetime as dt
import json
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from django.db.models import Count, Lookup, Min, Q, QuerySet, Sum, TextField
from django.db.models.expressions import RawSQL
from django.http import Http404

from accounts.selectors import user_sees_all
from wlpanel.compiled_query import AnyOf, CompiledQuery

from .models import AuditEvent, AwsCall
from .services import HASHED_FIELDS, event_hash

PAGE_SIZE = 50

# The same expression as migration 0004's trigram index, or the planner will not use the index.
# One expression over the searchable columns (not one index per column) keeps `q` a single
# index condition.
SEARCH_TEXT_SQL = (
    "(action || ' ' || actor_username || ' ' || target_type || ' ' || target_id || ' ' "
    "|| target_repr || ' ' || CAST(details AS text))"
)


class ILike(Lookup):
    """`lhs ILIKE rhs`: Django's icontains wraps both sides in UPPER(), which no index matches."""

    lookup_name = "ilike"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        if connection.vendor == "postgresql":
            return f"{lhs} ILIKE {rhs}", [*lhs_params, *rhs_params]
        # SQLite's LIKE already ignores (ASCII) case but has no default escape character.
        return f"{lhs} LIKE {rhs} ESCAPE '\\'", [*lhs_params, *rhs_params]


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# --- Who sees what ---------------------------------------------------------------------------------


def audit_events_visible_to(user) -> QuerySet[AuditEvent]:
    """Auditors and admins: every row. Others: their teams' rows, and team-less rows they did."""
    events = AuditEvent.objects.all()
    if user_sees_all(user):
        return events
    slugs = list(user.teams.values_list("slug", flat=True))
    return events.filter(Q(team_slug__in=slugs) | Q(team_slug="", actor_id=user.pk))


def audit_event_get_visible(user, event_id: int) -> AuditEvent:
    """The row, or 404 when the user may not see it (never 403: that would confirm it exists)."""
    try:
        return audit_events_visible_to(user).get(pk=event_id)
    except (AuditEvent.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No such audit event.") from exc


# --- Filters ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    q: str = ""
    actor: str = ""
    team: str = ""
    environment: int | None = None
    action: str = ""
    source: str = ""
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def as_params(self) -> dict[str, str]:
        """The filter as query-string parameters (empty ones left out), for links and the audit row."""
        params = {}
        for name, value in asdict(self).items():
            if value in ("", None):
                continue
            params[name] = value.isoformat() if isinstance(value, dt.datetime) else str(value)
        return params


def audit_events_filter(events: QuerySet[AuditEvent], audit_filter: AuditFilter) -> QuerySet[AuditEvent]:
    f = audit_filter
    if f.actor:
        events = events.filter(actor_username=f.actor)
    if f.team:
        events = events.filter(team_slug=f.team)
    if f.environment is not None:
        events = events.filter(environment_id=f.environment)
    if f.action:
        events = (
            events.filter(action__startswith=f.action[:-1]) if f.action.endswith("*") else events.filter(action=f.action)
        )
    if f.source:
        events = events.filter(source=f.source)
    # Time bounds become id bounds only: with created_at bounds as well, the planner would count
    # the same narrowing twice, expect a handful of rows and pick a plan that reads them all.
    if f.since is not None:
        first_id = audit_event_id_from(f.since)
        events = events.filter(id__gte=first_id) if first_id is not None else events.none()
    if f.until is not None:
        last_id = audit_event_id_before(f.until)
        events = events.filter(id__lte=last_id) if last_id is not None else events.none()
    if f.q:
        search_text = RawSQL(SEARCH_TEXT_SQL, [], output_field=TextField())  # noqa: S611 - a constant
        events = events.filter(ILike(search_text, _like_pattern(f.q)))
    return events


def audit_event_id_before(moment: dt.datetime) -> int | None:
    """Id of the last row written before `moment` (through the created_at index)."""
    return (
        AuditEvent.objects.filter(created_at__lt=moment).order_by("-created_at").values_list("id", flat=True).first()
    )


def audit_event_id_from(moment: dt.datetime) -> int | None:
    """Id of the first row written at or after `moment`."""
    return AuditEvent.objects.filter(created_at__gte=moment).order_by("created_at").values_list("id", flat=True).first()


# --- Keyset pages ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    older: int | None  # pass as ?before= to get the next older page
    newer: int | None  # pass as ?after= to get the next newer page


def audit_events_page(
    events: QuerySet[AuditEvent], *, before: int | None = None, after: int | None = None, size: int = PAGE_SIZE
) -> AuditPage:
    """One page, newest first: below `before`, or the page just above `after`, or the newest."""
    if after is not None:
        rows = list(events.filter(id__gt=after).order_by("id")[: size + 1])
        has_newer = len(rows) > size
        rows = rows[:size][::-1]
        has_older = bool(rows) or events.filter(id__lte=after).exists()
    else:
        below = events if before is None else events.filter(id__lt=before)
        rows = list(below.order_by("-id")[: size + 1])
        has_older = len(rows) > size
        rows = rows[:size]
        has_newer = before is not None and events.filter(id__gte=before).exists()
    if not rows:
        return AuditPage([], older=None, newer=None)
    return AuditPage(rows, older=rows[-1].id if has_older else None, newer=rows[0].id if has_newer else None)


def audit_events_count(events: QuerySet[AuditEvent], *, limit: int) -> tuple[int, bool]:
    """(count, exact): an exact count up to `limit`, else (limit, False).

    An exact COUNT over a million rows costs more than the page itself; counting a LIMITed
    subquery bounds the work whatever the filter.
    """
    counted = events.order_by()[: limit + 1].count()
    return (counted, True) if counted <= limit else (limit, False)


# --- One row in context ------------------------------------------------------------------------------


def audit_event_aws_calls(event: AuditEvent) -> QuerySet[AwsCall]:
    """Calls the row caused, and calls made under the same correlation id."""
    condition = Q(cause_event_id=event.pk)
    if event.correlation_id:
        condition |= Q(correlation_id=event.correlation_id)
    return AwsCall.objects.filter(condition).order_by("id")


def audit_event_neighbours(events: QuerySet[AuditEvent], event: AuditEvent) -> tuple[int | None, int | None]:
    """Ids of the rows just before and after `event` among `events` (for auditors: the chain)."""
    previous = events.filter(id__lt=event.pk).order_by("-id").values_list("id", flat=True).first()
    following = events.filter(id__gt=event.pk).order_by("id").values_list("id", flat=True).first()
    return previous, following


def audit_event_hash_matches(event: AuditEvent) -> bool:
    """Whether the row's content still hashes to its stored hash (its link is checked by audit_verify)."""
    fields = {name: getattr(event, name) for name in HASHED_FIELDS}
    return event_hash(fields, event.prev_hash, event.chain_scheme) == event.hash


@dataclass(frozen=True)
class FieldChange:
    field: str
    change: str  # "added", "removed" or "changed"
    before: Any = None
    after: Any = None

    @property
    def before_text(self) -> str:
        return _as_text(self.before) if self.change != "added" else ""

    @property
    def after_text(self) -> str:
        return _as_text(self.after) if self.change != "removed" else ""


def audit_diff(before: dict | None, after: dict | None) -> list[FieldChange]:
    """Field-by-field difference of two JSON objects; nested objects become dotted field names."""
    old, new = _flatten(before or {}), _flatten(after or {})
    changes = []
    for name in sorted(old.keys() | new.keys()):
        if name not in new:
            changes.append(FieldChange(name, "removed", before=old[name]))
        elif name not in old:
            changes.append(FieldChange(name, "added", after=new[name]))
        elif old[name] != new[name]:
            changes.append(FieldChange(name, "changed", before=old[name], after=new[name]))
    return changes


def audit_details_rows(details: dict | None) -> list[tuple[str, str]]:
    """A row's details as (dotted field, readable value) pairs."""
    return [(name, _as_text(value)) for name, value in sorted(_flatten(details or {}).items())]


def _as_text(value: Any) -> str:
    """Strings as they are; everything else as JSON, so null, true and lists read as they were stored."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(value, dict):
        return {prefix or "value": value}
    if not value and prefix:
        return {prefix: {}}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        flat.update(_flatten(item, name) if isinstance(item, dict) else {name: item})
    return flat


# --- An environment's timeline (included on the environment page) -----------------------------------


TIMELINE_LIMIT = 50


def _timeline_events(environment_id: int, *, limit: int = TIMELINE_LIMIT) -> QuerySet[AuditEvent]:
    return (
        AuditEvent.objects.filter(environment_id=environment_id)
        .only("created_at", "actor_username", "action", "correlation_id")
        .order_by("-id")[:limit]
    )


# Every detail page reads it: compiled once per process (wlpanel.compiled_query).
_TIMELINE_EVENTS = CompiledQuery(_timeline_events, environment_id=int)


def environment_timeline(environment_id: int, *, limit: int = TIMELINE_LIMIT) -> list[AuditEvent]:
    """The environment's newest audit rows, each with `aws_summary`: one line for the calls it caused.

    Two queries whatever the length: the rows (only the columns the timeline shows), then the
    calls linked to any of them, counted by row and kind in SQL (a build's row causes dozens).
    """
    if limit == TIMELINE_LIMIT:
        events = _TIMELINE_EVENTS.all(environment_id=environment_id)
    else:
        events = list(_timeline_events(environment_id, limit=limit))
    groups = _aws_call_groups(events)
    for event in events:
        event.aws_summary = aws_calls_summary(groups.get(event.pk, []))
    return events


SUMMARY_OPERATIONS = 6


def aws_calls_summary(groups: list[dict]) -> dict:
    """One line per audit row instead of one per call: how many, which operations, the time they
    took, and the calls that did not answer ok. `groups`: the row's calls counted by operation and
    outcome (`calls`, `duration`), in the order of each group's first call."""
    operations = list(dict.fromkeys(group["operation"] for group in groups))
    problems: Counter[str] = Counter()
    for group in groups:
        if group["outcome"] != "ok":
            problems[f"{group['operation']} {group['outcome']}"] += group["calls"]
    return {
        "count": sum(group["calls"] for group in groups),
        "operations": ", ".join(operations[:SUMMARY_OPERATIONS]) + (", …" if len(operations) > SUMMARY_OPERATIONS else ""),
        "duration_ms": sum(group["duration"] or 0 for group in groups),
        # Each kind of call that did not answer ok once, with how many ("CreateSubnet intent ×2").
        "problems": [f"{kind} ×{n}" if n > 1 else kind for kind, n in problems.items()],
    }


for _field in ("cause_event_id", "correlation_id"):
    AwsCall._meta.get_field(_field).register_lookup(AnyOf)  # one array parameter, however many rows

# The calls of a set of audit rows counted by row and kind (compiled once per process).
_AWS_CALL_GROUPS = CompiledQuery(
    lambda event_ids, correlation_ids: AwsCall.objects.filter(
        Q(cause_event_id__any_of=event_ids) | Q(correlation_id__any_of=correlation_ids)
    )
    .values("cause_event_id", "correlation_id", "operation", "outcome")
    .annotate(calls=Count("id"), duration=Sum("duration_ms"), first_call=Min("id"))
    .order_by("first_call"),
    event_ids=list[int],
    correlation_ids=list[str],
)


def _aws_call_groups(events: list[AuditEvent]) -> dict[int, list[dict]]:
    """{audit row id: its calls' groups}. A call belongs to the row that caused it; otherwise to
    the rows of its correlation id."""
    by_correlation: dict[str, list[int]] = {}
    for event in events:
        if event.correlation_id:
            by_correlation.setdefault(event.correlation_id, []).append(event.pk)
    groups: dict[int, list[dict]] = {}
    if not events:
        return groups
    event_ids = {event.pk for event in events}
    for group in _AWS_CALL_GROUPS.all(event_ids=list(event_ids), correlation_ids=list(by_correlation)):
        cause = group["cause_event_id"]
        for owner in [cause] if cause in event_ids else by_correlation.get(group["correlation_id"], []):
            groups.setdefault(owner, []).append(group)
    return groups
