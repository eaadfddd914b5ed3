"""The audit chains: how a row's hash is made, appending a row, and walking a chain to find where
it stops holding.

Two chains, each in its own table: the audit rows and the AWS call log. A row's hash is
HMAC-SHA256, keyed with WLPANEL_AUDIT_KEY (kept outside the database), of the previous row's
hash followed by the row's canonical JSON content. Someone with only database rights can change
rows but cannot make hashes that verify. Rows from before the key keep their scheme (plain
SHA-256 for audit rows, none for AWS calls) and verify as they were written; a chain never goes
back to an older scheme once a keyed row exists, so re-hashing rows the old way is named too.
"""

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from .choices import ChainScheme
from .models import AuditEvent, AwsCall

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Chain:
    label: str  # names the chain in messages
    model: type[Model]
    hashed_fields: tuple[str, ...]  # every column but id, prev_hash, hash and chain_scheme
    lock_key: int  # advisory lock serialising appends (and so making id order the chain's order)
    what_field: str  # the column that says what a row was about, for messages
    # Columns added after rows were chained: hashed only when set, so the older rows still verify.
    optional_fields: tuple[str, ...] = ()


EVENTS = Chain(
    label="Audit chain",
    model=AuditEvent,
    hashed_fields=(
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
    ),
    lock_key=0x61756469,  # "audi"
    what_field="action",
)
AWS_CALLS = Chain(
    label="AWS call log",
    model=AwsCall,
    hashed_fields=(
        "created_at",
        "service",
        "region",
        "operation",
        "params",
        "mutating",
        "outcome",
        "error_message",
        "http_status",
        "duration_ms",
        "retries",
        "request_id",
        "environment_id",
        "resource_key",
        "correlation_id",
        "cause_event_id",
        "account_id",
    ),
    lock_key=0x61777363,  # "awsc"
    what_field="operation",
    optional_fields=("account_id",),
)
CHAINS = (EVENTS, AWS_CALLS)


def audit_key() -> bytes:
    return settings.WLPANEL_AUDIT_KEY.encode()


def chain_hash(chain: Chain, fields: dict[str, Any], prev_hash: str, scheme: int = ChainScheme.HMAC_SHA256) -> str:
    content = {
        name: fields[name]
        for name in chain.hashed_fields
        if not (name in chain.optional_fields and fields[name] in ("", None))
    }
    content["created_at"] = fields["created_at"].isoformat()
    message = (prev_hash + json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)).encode()
    if scheme == ChainScheme.HMAC_SHA256:
        return hmac.new(audit_key(), message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()


def chain_append(chain: Chain, fields: dict[str, Any]) -> Model:
    """Insert one row at the head of `chain`, keyed; `fields` holds every hashed field but created_at."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [chain.lock_key])
        # An unchained AWS call (from before the chain) has an empty hash: the chain starts afresh.
        prev_hash = chain.model.objects.order_by("-id").values_list("hash", flat=True).first() or GENESIS_HASH
        # Under the lock, so ids and times rise together (the review page turns times into ids).
        fields["created_at"] = timezone.now()
        return chain.model.objects.create(
            prev_hash=prev_hash,
            hash=chain_hash(chain, fields, prev_hash),
            chain_scheme=ChainScheme.HMAC_SHA256,
            **fields,
        )


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    reason: str
    created_at: datetime | None = None
    action: str = ""  # what the row was about: its action, or the AWS operation
    kind: str = "altered"  # altered | unlinked | rewritten | forged | removed_tail | removed | emptied
    against_checkpoint: bool = False  # found by comparing with a checkpoint, not along the chain


@dataclass(frozen=True)
class Anchor:
    """Where a walk starts and what a checkpoint says about the rows it meets."""

    after_id: int = 0
    prev_hash: str = GENESIS_HASH
    covered_through: int = 0  # rows up to this id were in a checkpoint: a bad hash there is a rewrite
    keyed_from: int | None = None  # from this id on, the checkpoint saw keyed rows only


def _without_key(row_id: int, anchor: Anchor, what: str) -> tuple[str, str]:
    if row_id <= anchor.covered_through:
        return "rewritten", f"rewritten and re-hashed without the audit key: {what}, and a checkpoint had covered this row"
    if anchor.covered_through:
        return "forged", f"forged: appended without the audit key after the last checkpoint: {what}"
    return "forged", f"forged, or rewritten, without the audit key (no checkpoint covers it): {what}"


def chain_walk(
    chain: Chain,
    *,
    anchor: Anchor = Anchor(),
    batch_size: int = 5000,
    on_progress: Callable[[int], None] | None = None,
) -> tuple[int, ChainBreak | None]:
    """Walk `chain` in id order from `anchor`; return (rows checked, the first row that does not hold).

    A removed row shows up as the next row's broken link; an altered row as its own content
    mismatch; a row whose hash was made without the key (a plain SHA-256, or an older scheme after
    keyed rows) as rewritten or forged, depending on whether a checkpoint had covered it. Rows
    removed from the end leave no trace here: that is what the checkpoints are for.
    """
    prev_hash, prev_id = anchor.prev_hash, (anchor.after_id or None)
    newest_scheme = ChainScheme.UNCHAINED
    checked = 0
    for row_id, fields, scheme, stored_prev_hash, stored_hash in _chain_rows(chain, anchor.after_id, batch_size):
        keyed_expected = newest_scheme == ChainScheme.HMAC_SHA256 or (
            anchor.keyed_from is not None and row_id >= anchor.keyed_from
        )
        if scheme != ChainScheme.HMAC_SHA256 and keyed_expected:
            kind, reason = _without_key(row_id, anchor, f"its hash uses the old scheme {scheme} where the chain is keyed")
            return checked, _break(chain, row_id, fields, kind, reason)
        newest_scheme = max(newest_scheme, scheme)
        if scheme == ChainScheme.UNCHAINED:
            checked += 1  # logged before the call log was chained: nothing to check
            continue
        if stored_prev_hash != prev_hash:
            after = f"row #{prev_id}" if prev_id is not None else "the start of the chain"
            reason = f"previous-hash link broken: it does not follow {after} (a row before it was removed or altered)"
            return checked, _break(chain, row_id, fields, "unlinked", reason)
        if chain_hash(chain, fields, prev_hash, scheme) != stored_hash:
            if scheme == ChainScheme.HMAC_SHA256 and chain_hash(chain, fields, prev_hash, ChainScheme.SHA256) == stored_hash:
                kind, reason = _without_key(row_id, anchor, "its hash is a plain SHA-256 of its content, not the keyed one")
                return checked, _break(chain, row_id, fields, kind, reason)
            reason = "content does not match its hash (the row was altered" + (
                ", or re-hashed with another key)" if scheme == ChainScheme.HMAC_SHA256 else ")"
            )
            return checked, _break(chain, row_id, fields, "altered", reason)
        prev_hash, prev_id = stored_hash, row_id
        checked += 1
        if on_progress is not None and checked % batch_size == 0:
            on_progress(checked)
    return checked, None


def _break(chain: Chain, row_id: int, fields: dict[str, Any], kind: str, reason: str) -> ChainBreak:
    return ChainBreak(row_id, reason, fields["created_at"], fields[chain.what_field], kind)


def _chain_rows(chain: Chain, after_id: int, batch_size: int) -> Iterator[tuple[int, dict[str, Any], int, str, str]]:
    """(id, hashed fields, scheme, prev_hash, hash) in id order, as plain values in keyset batches."""
    columns = ("id", *chain.hashed_fields, "chain_scheme", "prev_hash", "hash")
    last_id = after_id
    while True:
        batch = list(
            chain.model.objects.filter(id__gt=last_id).order_by("id").values_list(*columns)[:batch_size]
        )
        if not batch:
            return
        for row in batch:
            yield row[0], dict(zip(chain.hashed_fields, row[1:-3], strict=True)), row[-3], row[-2], row[-1]
        last_id = batch[-1][0]
