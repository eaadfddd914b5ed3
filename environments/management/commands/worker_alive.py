"""`manage.py worker_alive`: a liveness probe for Celery workers; exit 0 alive, 1 stalled or missing.

By default it judges the workers of this host (a container's own worker); `--node` or `--pid`
pick one. One line per worker, `<status>: <node> (pid N) <why>`; the status word is one of
alive, starting, busy, idle, unknown (exit 0), stalled or missing (no heartbeat row: exit 1).
"Unknown" (database or broker not answering) exits 0: restarting a worker brings neither back.
"""

import socket
import sys

from django.core.management.base import BaseCommand
from django.db import DatabaseError

from environments.provisioning.liveness import worker_liveness


class Command(BaseCommand):
    requires_system_checks = []  # a probe: fast, and about workers, not the project's configuration
    help = "Exit 1 when a worker has stopped taking messages while work waits (or its event loop stopped)."

    def add_arguments(self, parser):
        parser.add_argument("--node", help="Celery node name (default: every worker on this host)")
        parser.add_argument("--pid", type=int, help="the worker's main process id")
        parser.add_argument("--all-hosts", action="store_true", help="judge the workers of every host")

    def handle(self, *args, node=None, pid=None, all_hosts=False, **options):
        hostname = None if (node or all_hosts) else socket.gethostname()
        try:
            verdicts = worker_liveness(node=node, pid=pid, hostname=hostname)
        except DatabaseError as exc:
            self.stdout.write(f"unknown: database not answering ({exc.__class__.__name__})")
            return
        if not verdicts:
            # Not written yet (still starting) or never: a probe cannot tell, so it fails.
            who = (
                f"node {node}" if node else f"pid {pid}" if pid else f"any worker on {hostname or 'any host'}"
            )
            self.stdout.write(f"missing: no heartbeat from {who}")
            sys.exit(1)
        for verdict in verdicts:
            self.stdout.write(f"{verdict.status}: {verdict.node} (pid {verdict.pid}) {verdict.reason}")
        if any(verdict.stalled for verdict in verdicts):
            sys.exit(1)
