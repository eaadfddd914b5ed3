"""The audit writer: `record()` is the only code that writes audit rows.

Each row's hash covers its content and the previous row's hash, so a changed or removed row
breaks the chain at that point. Appends are serialised with a transaction-level advisory lock on
PostgreSQL (SQLite's immediate transactions already serialise writers).
"""

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from .client_ip import client_ip
from .models import AuditEvent, AwsCall

GENESIS_HASH = "0" * 64
_CHAIN_LOCK_KEY = 0x61756469  # "audi": one advisory lock for the whole chain

HASHED_FIELDS = (
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
    "before",
    "after",
    "details",
    "ip_address",
    "user_agent",
    "correlation_id",
)


def _plain(value: Any) -> Any:
    """JSON-safe copy, so what is hashed is exactly what the JSON column stores."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str))


def event_hash(fields: dict[str, Any], prev_hash: str) -> str:
    content = {name: fields[name] for name in HASHED_FIELDS}
    content["created_at"] = fields["created_at"].isoformat()
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


def _target_fields(target: Model | None) -> dict[str, Any]:
    if target is None:
        return {}
    fields = {
        "target_type": target._meta.label_lower,
        "target_id": str(target.pk),
        "target_repr": str(target)[:200],
    }
    team = getattr(target, "team", None)
    if team is not None and hasattr(team, "slug"):
        fields["team_slug"] = team.slug
    if target._meta.label_lower == "environments.environment":
        fields["environment_id"] = target.pk
    elif getattr(target, "environment_id", None):
        fields["environment_id"] = target.environment_id
    return fields


def record(
    *,
    actor,
    action: str,
    target: Model | None,
    source: str,
    before: dict | None = None,
    after: dict | None = None,
    correlation_id: str | None = None,
    details: dict | None = None,
    target_repr: str | None = None,
    team_slug: str | None = None,
    environment_id: int | None = None,
    ip_address: str | None = None,
    user_agent: str = "",
) -> AuditEvent:
    """Append one audit row. `actor` is a user or None (the system); `action` is past tense."""
    fields: dict[str, Any] = {
        "created_at": None,
        "actor_id": actor.pk if actor is not None else None,
        "actor_username": actor.get_username() if actor is not None else "",
        "source": str(source),
        "action": action,
        "target_type": "",
        "target_id": "",
        "target_repr": "",
        "team_slug": "",
        "environment_id": None,
        "before": _plain(before),
        "after": _plain(after),
        "details": _plain(details) or {},
        "ip_address": ip_address or None,
        "user_agent": (user_agent or "")[:300],
        "correlation_id": str(correlation_id or ""),
    }
    fields.update(_target_fields(target))
    if target_repr is not None:
        fields["target_repr"] = target_repr[:200]
    if team_slug is not None:
        fields["team_slug"] = team_slug
    if environment_id is not None:
        fields["environment_id"] = environment_id

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])
        prev_hash = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS_HASH
        fields["created_at"] = timezone.now()
        return AuditEvent.objects.create(prev_hash=prev_hash, hash=event_hash(fields, prev_hash), **fields)


def request_context(request) -> dict[str, Any]:
    """Who-and-where fields of an HTTP request, for `record(**request_context(request))`."""
    if request is None:
        return {}
    return {
        "ip_address": client_ip(request),
        "user_agent": request.headers.get("User-Agent", ""),
        "correlation_id": getattr(request, "correlation_id", ""),
    }


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str
    created_at: datetime | None = None
    action: str = ""


def audit_chain_verify(
    *, batch_size: int = 5000, on_progress: Callable[[int], None] | None = None
) -> tuple[int, ChainBreak | None]:
    """Walk the chain in order; return (rows checked, the first row that no longer matches).

    Streams plain value tuples in keyset batches (no model instances, no long-held cursor), so
    a million rows take seconds, not minutes. A removed row shows up as the next row's broken
    link; an altered row as its own content mismatch. (A removed *last* row leaves no trace in
    the chain itself: compare the head hash with one kept elsewhere, `audit_verify --expect-head`.)
    """
    prev_hash, prev_id = GENESIS_HASH, None
    checked = 0
    for row in _chain_rows(batch_size):
        event_id, fields, stored_prev_hash, stored_hash = row
        if stored_prev_hash != prev_hash:
            after = f"row #{prev_id}" if prev_id is not None else "the start of the chain"
            return checked, ChainBreak(
                event_id,
                f"previous-hash link broken: it does not follow {after} (a row before it was removed or altered)",
                fields["created_at"],
                fields["action"],
            )
        if event_hash(fields, prev_hash) != stored_hash:
            return checked, ChainBreak(
                event_id, "content does not match its hash (the row was altered)", fields["created_at"], fields["action"]
            )
        prev_hash, prev_id = stored_hash, event_id
        checked += 1
        if on_progress is not None and checked % batch_size == 0:
            on_progress(checked)
    return checked, None


def _chain_rows(batch_size: int) -> Iterator[tuple[int, dict[str, Any], str, str]]:
    columns = ("id", *HASHED_FIELDS, "prev_hash", "hash")
    last_id = 0
    while True:
        batch = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id").values_list(*columns)[:batch_size])
        if not batch:
            return
        for row in batch:
            yield row[0], dict(zip(HASHED_FIELDS, row[1:-2], strict=True)), row[-2], row[-1]
        last_id = batch[-1][0]


def aws_call_record(**fields: Any) -> AwsCall:
    """Append one row to the AWS call log (the client factory's event hook calls this)."""
    fields.setdefault("created_at", timezone.now())
    fields["params"] = _plain(fields.get("params") or {})
    return AwsCall.objects.create(**fields)
