"""`manage.py audit_verify`: walk both audit chains, compare them with the latest checkpoint kept
outside the database, and name the first thing that no longer holds."""

import time

from django.core.management.base import BaseCommand, CommandError

from audit.chain import CHAINS, EVENTS
from audit.checkpoints import (
    AuditTampered,
    CheckpointFileError,
    audit_checkpoint_take,
    audit_log_verify,
    chain_head,
    checkpoint_sinks,
)
from audit.models import AuditEvent


def _rows(count: int) -> str:
    return f"{count:,} row" + ("" if count == 1 else "s")


class Command(BaseCommand):
    help = (
        "Verify the audit log's keyed hash chains (audit rows and AWS calls) against the latest checkpoint; "
        "exit non-zero naming a rewrite, a forged row, rows removed from the end, or an emptied table."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=10_000, help="Rows read per query.")
        parser.add_argument(
            "--expect-head",
            metavar="HASH",
            help="A head hash kept outside the database (e.g. from an earlier run): fail unless the "
            "verified chain still contains it, which catches rows removed from the end.",
        )
        parser.add_argument(
            "--checkpoint",
            action="store_true",
            help="After a successful verification, append a checkpoint of both heads to "
            "WLPANEL_AUDIT_CHECKPOINT_FILE.",
        )

    def handle(self, *args, batch_size: int, expect_head: str | None, checkpoint: bool, **options):
        started = time.monotonic()
        total = AuditEvent.objects.count()
        show_progress = options["verbosity"] >= 2

        def progress(checked: int) -> None:
            if show_progress:
                self.stdout.write(f"  {checked:,} / {total:,} rows")

        try:
            result = audit_log_verify(batch_size=batch_size, on_progress=progress)
        except CheckpointFileError as exc:
            raise CommandError(f"Checkpoint altered: {exc}.", returncode=1) from exc
        elapsed = time.monotonic() - started
        if result.broken is not None:
            chain, broken = result.broken
            when = broken.created_at.isoformat() if broken.created_at else None
            where = f" ({when}, {broken.action})" if when else ""
            verified = result.checked[chain.label]
            if broken.against_checkpoint:
                raise CommandError(
                    f"{chain.label} does not match the latest checkpoint: {broken.reason}. "
                    f"The {_rows(verified)} along the chain verified.",
                    returncode=1,
                )
            raise CommandError(
                f"{chain.label} broken at row #{broken.event_id}{where}: {broken.reason}. "
                f"{_rows(verified)} before it verified.",
                returncode=1,
            )
        if expect_head and not AuditEvent.objects.filter(hash=expect_head).exists():
            raise CommandError(
                f"The expected head {expect_head} is not in the chain: rows at its end were removed.", returncode=1
            )
        for chain in CHAINS:
            head = chain_head(chain)
            head_text = f"head #{head.head_id} {head.head_hash}" if head.count else "empty"
            timing = f" in {elapsed:.1f}s" if chain is EVENTS else ""
            self.stdout.write(
                self.style.SUCCESS(f"{chain.label} OK: {result.checked[chain.label]:,} rows verified{timing}; {head_text}.")
            )
        if result.checkpoint is not None:
            self.stdout.write(f"Matches the latest checkpoint, of {result.checkpoint.taken_at}.")
        else:
            self.stdout.write(
                self.style.WARNING(
                    f"No checkpoint of this database in {' or '.join(checkpoint_sinks())} yet: rows removed "
                    "from the end would go unnoticed. Run `audit_verify --checkpoint` (beat takes one periodically)."
                )
            )
        if checkpoint:
            try:
                taken = audit_checkpoint_take(incremental=True)
            except AuditTampered as exc:  # a row appended meanwhile that does not hold
                raise CommandError(str(exc), returncode=1) from exc
            heads = ", ".join(f"{table} head #{head.head_id} ({head.count:,} rows)" for table, head in taken.heads.items())
            self.stdout.write(f"Checkpoint written to {' and '.join(checkpoint_sinks())}: {heads}.")
