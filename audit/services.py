"""The audit writer: `record()` is the only code that writes audit rows.

Each row's hash covers its content and the previous row's hash, keyed with WLPANEL_AUDIT_KEY
(`audit.chain`), so a changed or removed row breaks the chain at that point and nobody without
the key can re-hash it. Appends are serialised with a transaction-level advisory lock on
PostgreSQL (SQLite's immediate transactions already serialise writers).
"""

import json
from collections.abc import Callable
from typing import Any

from django.db.models import Model

from .chain import AWS_CALLS, EVENTS, GENESIS_HASH, ChainBreak, chain_append, chain_hash, chain_walk
from .choices import ChainScheme
from .client_ip import client_ip
from .models import AuditEvent, AwsCall

__all__ = ["GENESIS_HASH", "HASHED_FIELDS", "ChainBreak", "audit_chain_verify", "aws_call_record", "event_hash", "record"]

HASHED_FIELDS = EVENTS.hashed_fields


def _plain(value: Any) -> Any:
    """JSON-safe copy, so what is hashed is exactly what the JSON column stores."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str))


def event_hash(fields: dict[str, Any], prev_hash: str, scheme: int = ChainScheme.HMAC_SHA256) -> str:
    """An audit row's hash (keyed unless `scheme` says the row predates the key)."""
    return chain_hash(EVENTS, fields, prev_hash, scheme)


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

    return chain_append(EVENTS, fields)


def request_context(request) -> dict[str, Any]:
    """Who-and-where fields of an HTTP request, for `record(**request_context(request))`."""
    if request is None:
        return {}
    return {
        "ip_address": client_ip(request),
        "user_agent": request.headers.get("User-Agent", ""),
        "correlation_id": getattr(request, "correlation_id", ""),
    }


def audit_chain_verify(
    *, batch_size: int = 5000, on_progress: Callable[[int], None] | None = None
) -> tuple[int, ChainBreak | None]:
    """Walk the audit rows' chain from the first row (no checkpoint: `audit.checkpoints` adds those)."""
    return chain_walk(EVENTS, batch_size=batch_size, on_progress=on_progress)


def aws_call_record(**fields: Any) -> AwsCall:
    """Append one row to the AWS call log's chain (the client factory's event hook calls this)."""
    row = {name: AwsCall._meta.get_field(name).get_default() for name in AWS_CALLS.hashed_fields}
    row.update(fields)
    row["params"] = _plain(fields.get("params") or {})
    return chain_append(AWS_CALLS, row)
