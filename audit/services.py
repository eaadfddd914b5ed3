"""The audit writer: `record()` is the only code that writes audit rows.

Each row's hash covers its content and the previous row's hash, so a changed or removed row
breaks the chain at that point. Appends are serialised with a transaction-level advisory lock on
PostgreSQL (SQLite's immediate transactions already serialise writers).
"""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

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
        "ip_address": request.META.get("REMOTE_ADDR") or None,
        "user_agent": request.headers.get("User-Agent", ""),
        "correlation_id": getattr(request, "correlation_id", ""),
    }


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str


def audit_chain_verify(*, batch_size: int = 5000) -> tuple[int, ChainBreak | None]:
    """Walk the chain in order; return (rows checked, the first row that no longer matches)."""
    prev_hash = GENESIS_HASH
    checked = 0
    for event in _events_in_order(batch_size):
        if event.prev_hash != prev_hash:
            return checked, ChainBreak(event.pk, "previous-hash link broken (a row before it was removed or altered)")
        fields = {name: getattr(event, name) for name in HASHED_FIELDS}
        if event_hash(fields, prev_hash) != event.hash:
            return checked, ChainBreak(event.pk, "content does not match its hash (the row was altered)")
        prev_hash = event.hash
        checked += 1
    return checked, None


def _events_in_order(batch_size: int) -> Iterator[AuditEvent]:
    last_id = 0
    while True:
        batch = list(AuditEvent.objects.filter(id__gt=last_id).order_by("id")[:batch_size])
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id


def aws_call_record(**fields: Any) -> AwsCall:
    """Append one row to the AWS call log (the client factory's event hook calls this)."""
    fields.setdefault("created_at", timezone.now())
    fields["params"] = _plain(fields.get("params") or {})
    return AwsCall.objects.create(**fields)
