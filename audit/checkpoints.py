"""Checkpoints: the heads of the audit chains (id, hash, time, count), written outside the database.

The keyed chain stops someone with database rights from forging or re-hashing rows; it cannot
show rows removed from the end, or a table emptied. A checkpoint can: `audit_verify` compares the
database with the latest one. Checkpoints are appended, one JSON line each, to the file named by
WLPANEL_AUDIT_CHECKPOINT_FILE (the beat task `audit.checkpoint` and `audit_verify --checkpoint`
write them), and stored in S3 under Object Lock when WLPANEL_AUDIT_CHECKPOINT_S3_BUCKET names a
bucket (`audit.checkpoint_s3`); each carries an HMAC under the audit key so it cannot be edited
unseen either. Put the file where the database's administrators cannot write (another host, an
append-only mount).
"""

import hashlib
import hmac
import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .chain import CHAINS, GENESIS_HASH, Anchor, Chain, ChainBreak, audit_key, chain_walk
from .choices import ChainScheme

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChainHead:
    head_id: int
    head_hash: str
    count: int  # rows with id <= head_id
    keyed_from: int | None  # id of the first keyed row


@dataclass(frozen=True)
class Checkpoint:
    database: str
    taken_at: str  # ISO 8601, UTC
    heads: dict[str, ChainHead]  # by table name

    def anchor(self, chain: Chain, *, incremental: bool) -> Anchor:
        head = self.heads.get(chain.model._meta.db_table)
        if head is None or head.count == 0:
            return Anchor(keyed_from=head.keyed_from if head else None)
        start = {"after_id": head.head_id, "prev_hash": head.head_hash} if incremental else {}
        return Anchor(covered_through=head.head_id, keyed_from=head.keyed_from, **start)


class CheckpointFileError(Exception):
    """A stored checkpoint was edited: its MAC does not match under the audit key."""


@dataclass(frozen=True)
class VerifyResult:
    checked: dict[str, int]  # rows checked per chain label
    broken: tuple[Chain, ChainBreak] | None
    checkpoint: Checkpoint | None


def _database_name() -> str:
    return str(connection.settings_dict["NAME"])


def chain_head(chain: Chain, *, keyed_from: int | None = None) -> ChainHead:
    """The chain's head now; `keyed_from` when already known (finding it scans the unkeyed rows)."""
    rows = chain.model.objects
    head = rows.order_by("-id").values_list("id", "hash").first()
    if head is None:
        return ChainHead(0, GENESIS_HASH, 0, None)
    if keyed_from is None:
        keyed = rows.filter(chain_scheme=ChainScheme.HMAC_SHA256).order_by("id")
        keyed_from = keyed.values_list("id", flat=True).first()
    return ChainHead(head[0], head[1], rows.filter(id__lte=head[0]).count(), keyed_from)


def checkpoint_current(previous: Checkpoint | None = None) -> Checkpoint:
    # Appends are serialised and ids rise with commits, so "rows up to the head" is a stable count.
    heads = {}
    for chain in CHAINS:
        table = chain.model._meta.db_table
        known = previous.heads.get(table) if previous else None
        heads[table] = chain_head(chain, keyed_from=known.keyed_from if known else None)
    return Checkpoint(_database_name(), timezone.now().isoformat(), heads)


def _mac(payload: dict) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hmac.new(audit_key(), canonical.encode(), hashlib.sha256).hexdigest()


def _checkpoint_text(checkpoint: Checkpoint) -> str:
    payload = asdict(checkpoint)
    return json.dumps({**payload, "mac": _mac(payload)}, sort_keys=True, separators=(",", ":"))


def _checkpoint_parse(text: str, where: str) -> Checkpoint:
    try:
        payload = json.loads(text)
        mac = payload.pop("mac")
    except (ValueError, KeyError, AttributeError) as exc:
        raise CheckpointFileError(f"{where} is not a checkpoint") from exc
    if not hmac.compare_digest(str(mac), _mac(payload)):
        raise CheckpointFileError(f"{where} was edited: its MAC does not match under the audit key")
    heads = {table: ChainHead(**head) for table, head in payload["heads"].items()}
    return Checkpoint(payload["database"], payload["taken_at"], heads)


def checkpoint_file_append(checkpoint: Checkpoint, path: Path | None = None) -> Path:
    """Append one line to the checkpoint file and flush it to disk (the file sink)."""
    path = Path(path or settings.WLPANEL_AUDIT_CHECKPOINT_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as sink:
        sink.write(_checkpoint_text(checkpoint) + "\n")
        sink.flush()
        os.fsync(sink.fileno())
    return path


def checkpoint_file_latest(path: Path | None = None) -> Checkpoint | None:
    """The newest checkpoint of this database in the file, or None; every line's MAC is checked."""
    path = Path(path or settings.WLPANEL_AUDIT_CHECKPOINT_FILE)
    if not path.exists():
        return None
    latest = None
    database = _database_name()
    with open(path, encoding="utf-8") as source:
        for number, line in enumerate(source, start=1):
            if line.strip():
                checkpoint = _checkpoint_parse(line, f"{path} line {number}")
                if checkpoint.database == database:
                    latest = checkpoint
    return latest


def checkpoint_sinks() -> list[str]:
    return [str(settings.WLPANEL_AUDIT_CHECKPOINT_FILE)] + (
        [f"s3://{settings.WLPANEL_AUDIT_CHECKPOINT_S3_BUCKET}/{settings.WLPANEL_AUDIT_CHECKPOINT_S3_PREFIX}"]
        if settings.WLPANEL_AUDIT_CHECKPOINT_S3_BUCKET
        else []
    )


def checkpoint_write(checkpoint: Checkpoint) -> None:
    """To the file, and to S3 under Object Lock when a bucket is configured."""
    checkpoint_file_append(checkpoint)
    if settings.WLPANEL_AUDIT_CHECKPOINT_S3_BUCKET:
        from .checkpoint_s3 import s3_checkpoint_put

        taken_at = datetime.fromisoformat(checkpoint.taken_at)
        s3_checkpoint_put(folder=checkpoint.database, taken_at=taken_at, body=_checkpoint_text(checkpoint))


def checkpoint_latest() -> Checkpoint | None:
    """The newest checkpoint of this database in any sink: a sink rolled back loses to the other."""
    found = [checkpoint_file_latest()]
    if settings.WLPANEL_AUDIT_CHECKPOINT_S3_BUCKET:
        from .checkpoint_s3 import s3_checkpoint_latest

        body = s3_checkpoint_latest(folder=_database_name())
        found.append(_checkpoint_parse(body, "the newest S3 checkpoint") if body is not None else None)
    found = [checkpoint for checkpoint in found if checkpoint is not None]
    return max(found, key=lambda checkpoint: datetime.fromisoformat(checkpoint.taken_at), default=None)


def checkpoint_compare(chain: Chain, checkpoint: Checkpoint) -> ChainBreak | None:
    """What happened to the rows the checkpoint covered that a walk along the chain cannot see."""
    head = checkpoint.heads.get(chain.model._meta.db_table)
    if head is None or head.count == 0:
        return None
    covered = chain.model.objects.filter(id__lte=head.head_id)
    remaining = covered.count()
    at = f"the checkpoint of {checkpoint.taken_at}"
    if remaining == 0:
        return ChainBreak(
            head.head_id,
            f"emptied: none of the {head.count:,} rows up to #{head.head_id} in {at} is left "
            "(TRUNCATE, or every row deleted)",
            kind="emptied",
            against_checkpoint=True,
        )
    if not covered.filter(created_at__lte=datetime.fromisoformat(checkpoint.taken_at)).exists():
        # Ids were reset and reused: every row up to the head is younger than the checkpoint.
        return ChainBreak(
            head.head_id,
            f"emptied and refilled: every row up to #{head.head_id} was written after {at}, which counted "
            f"{head.count:,} rows there (TRUNCATE ... RESTART IDENTITY, or every row deleted and the ids reset)",
            kind="emptied",
            against_checkpoint=True,
        )
    current_hash = chain.model.objects.filter(id=head.head_id).values_list("hash", flat=True).first()
    if current_hash is None:
        last = covered.order_by("-id").values_list("id", flat=True).first()
        return ChainBreak(
            head.head_id,
            f"rows removed from the end: {at} ends at row #{head.head_id} with {head.count:,} rows; "
            f"only {remaining:,} of them are left, the last #{last}",
            kind="removed_tail",
            against_checkpoint=True,
        )
    if current_hash != head.head_hash:
        return ChainBreak(
            head.head_id,
            f"rewritten: row #{head.head_id}'s hash is not the one in {at} (rows up to it were changed and re-hashed)",
            kind="rewritten",
            against_checkpoint=True,
        )
    if remaining != head.count:
        return ChainBreak(
            head.head_id,
            f"rows removed: {at} counted {head.count:,} rows up to #{head.head_id}, {remaining:,} are left",
            kind="removed",
            against_checkpoint=True,
        )
    return None


def audit_log_verify(
    *,
    incremental: bool = False,
    batch_size: int = 5000,
    on_progress: Callable[[int], None] | None = None,
) -> VerifyResult:
    """Both chains against the latest checkpoint: the whole walk, or only the rows after it.

    Raises CheckpointFileError when the checkpoint file itself was edited.
    """
    checkpoint = checkpoint_latest()
    checked: dict[str, int] = {}
    for chain in CHAINS:
        anchor = checkpoint.anchor(chain, incremental=incremental) if checkpoint else Anchor()
        count, broken = chain_walk(chain, anchor=anchor, batch_size=batch_size, on_progress=on_progress)
        checked[chain.label] = count
        if broken is None and checkpoint is not None:
            broken = checkpoint_compare(chain, checkpoint)
        if broken is not None:
            return VerifyResult(checked, (chain, broken), checkpoint)
    return VerifyResult(checked, None, checkpoint)


class AuditTampered(Exception):
    def __init__(self, chain: Chain, broken: ChainBreak):
        super().__init__(f"{chain.label} broken at row #{broken.event_id}: {broken.reason}")
        self.chain, self.broken = chain, broken


def audit_checkpoint_take(*, incremental: bool = True) -> Checkpoint:
    """Verify (by default only what came after the latest checkpoint), then write a new checkpoint.

    Never writes over a break: a checkpoint of a tampered head would vouch for it.
    """
    # Taken before the walk, so every row it covers gets verified. The walk holds any row at or
    # after the previous checkpoint's first keyed id to the key, so carrying that id over is safe.
    checkpoint = checkpoint_current(previous=checkpoint_latest())
    result = audit_log_verify(incremental=incremental)
    if result.broken is not None:
        raise AuditTampered(*result.broken)
    checkpoint_write(checkpoint)
    log.info("audit checkpoint written to %s: %s", ", ".join(checkpoint_sinks()), checkpoint.heads)
    return checkpoint
