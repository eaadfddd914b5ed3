"""Worker liveness: is each Celery worker still taking messages from the broker?

A worker can stay up, even connected, and stop consuming (docs/engine.md, "Reliability"). Each
worker's main process writes a `WorkerHeartbeat` row from its event loop (`Heartbeat`, a worker
bootstep): `beat_at` every `heartbeat_seconds()`, and `received_at`, when it last took a task
message. A worker is **stalled** when its loop has not beaten for `stall_seconds()`, or when it has
taken nothing for that long although it has room for more and messages wait in one of its queues.
Beat's reconciler sends a message every 15 s, so a consuming worker never goes that long without
one while work is queued; a worker whose every slot is taken is busy, not stalled (a step's hard
time limit frees a slot within 2 min). `stall_seconds()` defaults to 90 s, six reconciler ticks.

`worker_liveness()` gives the verdicts to `manage.py worker_alive` (the container probe, and
`make run`'s supervisor) and, informational only, to /healthz.
"""

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from celery import bootsteps
from celery.signals import task_received
from celery.worker import state as worker_state
from django.conf import settings
from django.db import connection
from django.utils import timezone

log = logging.getLogger(__name__)

ALIVE, BUSY, STARTING, IDLE, STALLED, UNKNOWN = "alive", "busy", "starting", "idle", "stalled", "unknown"


def _tunable(name: str, default: float) -> float:
    # engine.engine_setting's rule (settings, then environment), without importing the engine and
    # boto3 into the probe, which runs every 30 s.
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    return float(value) if value is not None else default


def heartbeat_seconds() -> float:
    return _tunable("WLPANEL_WORKER_HEARTBEAT_SECONDS", 5.0)


def stall_seconds() -> float:
    return _tunable("WLPANEL_WORKER_STALL_SECONDS", 90.0)


def gone_seconds() -> float:
    """A row not beaten for this long belongs to a worker that is gone (killed, host lost): pruned."""
    return max(stall_seconds() * 5, 600.0)


# --- In the worker's main process ------------------------------------------------------------------

_last_received: float | None = None


@task_received.connect
def _on_task_received(**_) -> None:
    # Sent in the main process for every task message taken from the broker.
    global _last_received
    _last_received = time.time()


def worker_heartbeat_record(
    *,
    node: str,
    pid: int,
    queues: list[str],
    capacity: int,
    reserved: int,
    started_at: datetime,
    received_at: datetime | None,
) -> None:
    """Upsert the worker's row in one statement (it runs inside the worker's event loop)."""
    from ..models import WorkerHeartbeat

    row = WorkerHeartbeat(
        node=node,
        hostname=socket.gethostname(),
        pid=pid,
        queues=queues,
        capacity=capacity,
        reserved=reserved,
        started_at=started_at,
        beat_at=timezone.now(),
        received_at=received_at,
    )
    WorkerHeartbeat.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["node"],
        update_fields=[
            "hostname",
            "pid",
            "queues",
            "capacity",
            "reserved",
            "started_at",
            "beat_at",
            "received_at",
        ],
    )


def worker_heartbeat_delete(*, node: str, pid: int) -> None:
    from ..models import WorkerHeartbeat

    WorkerHeartbeat.objects.filter(node=node, pid=pid).delete()


def worker_heartbeats_prune() -> int:
    """Delete the rows of workers gone without a clean stop (killed, host lost); the number deleted."""
    from ..models import WorkerHeartbeat

    cutoff = timezone.now() - timedelta(seconds=gone_seconds())
    return WorkerHeartbeat.objects.filter(beat_at__lt=cutoff).delete()[0]


class Heartbeat(bootsteps.StartStopStep):
    """Worker bootstep: beat from the worker's timer, which the event loop drives (prefork on Redis),
    so the row goes stale when the loop stops; a thread timer where there is no event loop."""

    label = "Heartbeat"
    requires = ("celery.worker.components:Timer",)

    def __init__(self, parent, **kwargs):
        super().__init__(parent, **kwargs)
        self.entry = None
        self.failing = False
        self.started_at = timezone.now()
        self.queues: list[str] = []

    def start(self, w):
        self.started_at = timezone.now()
        # The queues it was started for, not the ones it consumes now (that is what is judged).
        self.queues = sorted(w.app.amqp.queues.consume_from)
        self.entry = w.timer.call_repeatedly(heartbeat_seconds(), self.beat, (w,))
        try:
            worker_heartbeats_prune()
        except Exception:  # noqa: BLE001 - readers ignore gone rows anyway
            log.warning("could not prune old worker heartbeats", exc_info=True)

    def beat(self, w) -> None:
        try:
            worker_heartbeat_record(
                node=w.hostname,
                pid=os.getpid(),
                queues=self.queues,
                capacity=w.concurrency * max(w.app.conf.worker_prefetch_multiplier, 1),
                reserved=len(worker_state.reserved_requests),
                started_at=self.started_at,
                received_at=datetime.fromtimestamp(_last_received, tz=UTC) if _last_received else None,
            )
        except Exception:  # noqa: BLE001 - the database may be away; the next beat retries
            if not self.failing:
                log.warning("could not write the worker heartbeat; retrying every beat", exc_info=True)
            self.failing = True
            try:
                connection.close()  # a broken connection is replaced on the next beat
            except Exception:  # noqa: BLE001, S110
                pass
        else:
            self.failing = False

    def stop(self, w):
        if self.entry is not None:
            w.timer.cancel(self.entry)
            self.entry = None
            try:
                worker_heartbeat_delete(node=w.hostname, pid=os.getpid())
            except Exception:  # noqa: BLE001 - a stale row only ages into "gone"
                log.warning("could not delete the worker heartbeat", exc_info=True)

    terminate = stop


# --- Reading the verdicts --------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    node: str
    pid: int
    status: str
    reason: str

    @property
    def stalled(self) -> bool:
        return self.status == STALLED

    def as_dict(self) -> dict:
        return {"node": self.node, "pid": self.pid, "status": self.status, "reason": self.reason}


def broker_queue_depth(queues: list[str]) -> int:
    """Messages waiting in these queues (one short broker connection; raises if it does not answer)."""
    from wlpanel.celery import app

    total = 0
    with app.connection_for_read(connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        channel = conn.default_channel
        for queue in queues:
            try:
                total += channel.queue_declare(queue=queue, passive=True).message_count
            except conn.channel_errors:
                pass  # a queue that does not exist holds nothing
    return total


def _seconds(delta: timedelta) -> int:
    return max(int(delta.total_seconds()), 0)


def worker_liveness(
    *,
    node: str | None = None,
    pid: int | None = None,
    hostname: str | None = None,
    queue_depth: Callable[[list[str]], int] = broker_queue_depth,
) -> list[Verdict]:
    """The verdict on each worker with a heartbeat (optionally only one node, pid or host).

    Asks the broker for queue depths only about a worker that has been quiet for `stall_seconds()`
    with room to spare; a broker that does not answer gives `unknown` (restarting the worker
    would not help), never `stalled`.
    """
    from ..models import WorkerHeartbeat

    now = timezone.now()
    stall = timedelta(seconds=stall_seconds())
    rows = WorkerHeartbeat.objects.filter(beat_at__gte=now - timedelta(seconds=gone_seconds()))
    if node:
        rows = rows.filter(node=node)
    if pid:
        rows = rows.filter(pid=pid)
    if hostname:
        rows = rows.filter(hostname=hostname)
    depths: dict[tuple[str, ...], int | Exception] = {}

    def depth_of(queues: list[str]) -> int | Exception:
        key = tuple(queues)
        if key not in depths:
            try:
                depths[key] = queue_depth(list(key))
            except Exception as exc:  # noqa: BLE001 - any broker failure means "cannot tell"
                depths[key] = exc
        return depths[key]

    verdicts = []
    for row in rows:
        where = ", ".join(row.queues)
        silent, quiet = now - row.beat_at, now - (row.received_at or row.started_at)
        if silent > stall:
            # A worker cannot beat while it reconnects to a broker that is down: not its fault.
            depth = depth_of(row.queues)
            if isinstance(depth, Exception):
                status, reason = UNKNOWN, f"no heartbeat for {_seconds(silent)} s; broker not answering"
            else:
                status, reason = (
                    STALLED,
                    f"no heartbeat for {_seconds(silent)} s: its event loop is not running",
                )
        elif now - row.started_at <= stall:
            status, reason = STARTING, f"started {_seconds(now - row.started_at)} s ago"
        elif quiet <= stall:
            status, reason = ALIVE, f"took a message {_seconds(quiet)} s ago"
        elif row.reserved >= row.capacity:
            status, reason = BUSY, f"every slot taken ({row.reserved} of {row.capacity})"
        else:
            depth = depth_of(row.queues)
            if isinstance(depth, Exception):
                status, reason = UNKNOWN, f"quiet for {_seconds(quiet)} s; broker not answering"
            elif depth:
                status = STALLED
                reason = f"has taken nothing for {_seconds(quiet)} s while {depth} message(s) wait in {where}"
            else:
                status, reason = IDLE, f"quiet for {_seconds(quiet)} s; nothing waits in {where}"
        verdicts.append(Verdict(node=row.node, pid=row.pid, status=status, reason=reason))
    return verdicts


# --- Lease owners: is the process that holds a step's lease known to be dead? -----------------------

OWNER_HOST_CHARS = 32  # the owner string must fit Resource.lease_owner (64)


def lease_owner_name() -> str:
    """`host:worker pid:process pid:nonce`: the worker's main process (its heartbeat) and this one."""
    import uuid

    return f"{socket.gethostname()[:OWNER_HOST_CHARS]}:{os.getppid()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a killed child its parent has not reaped yet is a zombie: dead all the same
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def dead_owner_seconds() -> float:
    """A worker whose heartbeat is this old is dead (three missed beats), not merely slow."""
    return heartbeat_seconds() * 3


def lease_owner_is_dead(owner: str, *, now: datetime | None = None) -> bool:
    """True only when the owner is known dead: its process is gone on this host, or its worker's
    heartbeat stopped. Unknown owners (no heartbeat row, another format) are not: their lease runs out."""
    parts = owner.split(":")
    if len(parts) != 4 or not parts[1].isdigit() or not parts[2].isdigit():
        return False
    host, worker_pid, process_pid = parts[0], int(parts[1]), int(parts[2])
    if host == socket.gethostname()[:OWNER_HOST_CHARS]:
        return _process_gone(process_pid)
    from environments.models import WorkerHeartbeat

    beat_at = (
        WorkerHeartbeat.objects.filter(hostname__startswith=host, pid=worker_pid)
        .values_list("beat_at", flat=True)
        .first()
    )
    now = now or timezone.now()
    return beat_at is not None and now - beat_at > timedelta(seconds=dead_owner_seconds())
