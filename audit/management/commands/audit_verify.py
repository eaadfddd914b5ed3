"""`manage.py audit_verify`: walk the audit hash chain and name the first row that no longer matches."""

import time

from django.core.management.base import BaseCommand, CommandError

from audit.models import AuditEvent
from audit.services import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the audit log's hash chain; exit non-zero naming the first altered or orphaned row."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=10_000, help="Rows read per query.")
        parser.add_argument(
            "--expect-head",
            metavar="HASH",
            help="A head hash kept outside the database (e.g. from an earlier run): fail unless the "
            "verified chain still contains it, which catches rows removed from the end.",
        )

    def handle(self, *args, batch_size: int, expect_head: str | None, **options):
        started = time.monotonic()
        total = AuditEvent.objects.count()
        show_progress = options["verbosity"] >= 2

        def progress(checked: int) -> None:
            if show_progress:
                self.stdout.write(f"  {checked:,} / {total:,} rows")

        checked, broken = audit_chain_verify(batch_size=batch_size, on_progress=progress)
        elapsed = time.monotonic() - started
        if broken is not None:
            when = broken.created_at.isoformat() if broken.created_at else "?"
            raise CommandError(
                f"Audit chain broken at row #{broken.event_id} ({when}, {broken.action}): {broken.reason}. "
                f"{checked:,} rows before it verified.",
                returncode=1,
            )
        if expect_head and not AuditEvent.objects.filter(hash=expect_head).exists():
            raise CommandError(
                f"The expected head {expect_head} is not in the chain: rows at its end were removed.", returncode=1
            )
        head = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
        head_text = f"head #{head[0]} {head[1]}" if head else "empty log"
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain OK: {checked:,} rows verified in {elapsed:.1f}s; {head_text}.")
        )
