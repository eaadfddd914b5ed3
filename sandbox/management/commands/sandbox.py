"""``python manage.py sandbox``: the embedded AWS (EC2 with Wavelength) in the foreground."""

import sys

from django.core.management.base import BaseCommand, CommandError

from sandbox import server
from sandbox.wavelength.availability_zones import DEFAULT_OPT_IN_SECONDS, MAX_OPT_IN_SECONDS
from sandbox.wavelength.instances import DEFAULT_PENDING_SECONDS, MAX_PENDING_SECONDS


class Command(BaseCommand):
    help = (
        "Serve the sandbox (moto EC2 with Wavelength, fault injection, control API under /_sandbox/) "
        "in the foreground until SIGTERM or Ctrl-C. It starts clean: no faults, no throttling, "
        "zones not opted in. Calls are signed with the panel's key (sandbox/sandbox) or session keys from "
        "STS AssumeRole; other keys are refused."
    )
    # The sandbox needs no database: skip the system checks, which could touch it.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--host", default=server.LOOPBACK, help="address to bind (default: 127.0.0.1)")
        parser.add_argument(
            "--port", type=int, default=0, help="port to bind; 0 picks a free port (default: 0)"
        )
        parser.add_argument(
            "--pending-seconds",
            type=float,
            default=DEFAULT_PENDING_SECONDS,
            help=f"how long new instances stay pending (default: {DEFAULT_PENDING_SECONDS:g}, "
            f"at most {MAX_PENDING_SECONDS:g})",
        )
        parser.add_argument(
            "--opt-in-seconds",
            type=float,
            default=DEFAULT_OPT_IN_SECONDS,
            help=f"how long an opt-in takes before its zones report opted-in (default: {DEFAULT_OPT_IN_SECONDS:g}, "
            f"at most {MAX_OPT_IN_SECONDS:g})",
        )
        parser.add_argument("--ready-file", help="write the sandbox URL to this file once it listens")
        parser.add_argument("--log-requests", action="store_true", help="log one line per request on stderr")

    def handle(self, *args, **options):
        if not 0 <= options["pending_seconds"] <= MAX_PENDING_SECONDS:
            raise CommandError(f"--pending-seconds must be between 0 and {MAX_PENDING_SECONDS:g}")
        if not 0 <= options["opt_in_seconds"] <= MAX_OPT_IN_SECONDS:
            raise CommandError(f"--opt-in-seconds must be between 0 and {MAX_OPT_IN_SECONDS:g}")
        if not 0 <= options["port"] <= 65535:
            raise CommandError("--port must be between 0 and 65535")
        try:
            server.serve_forever(
                options["host"],
                options["port"],
                ready_file=options["ready_file"],
                announce=self._announce,
                pending_seconds=options["pending_seconds"],
                opt_in_seconds=options["opt_in_seconds"],
                log_requests=options["log_requests"],
            )
        except OSError as error:
            raise CommandError(f"cannot serve on {options['host']}:{options['port']}: {error}") from error

    def _announce(self, line: str) -> None:
        self.stdout.write(line)
        # Scripts (make run) wait for this line: do not leave it in a buffer.
        self.stdout.flush()
        sys.stdout.flush()
