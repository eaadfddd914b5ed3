"""Worker liveness: heartbeats, verdicts, `manage.py worker_alive`, /healthz, and `make run`'s supervisor.

Real worker processes. A worker that is alive but takes nothing is produced deterministically with
Celery's own remote control (`cancel_consumer`: its event loop keeps running and beating, it just
stops consuming the queue), and a worker whose event loop stopped with SIGSTOP (make run's test). The Redis-restart
stall they stand for is reproduced in test_chaos.py, where wlpanel/redis_transport.py prevents it.
"""

import importlib.util
import os
import signal
import sys
import threading
from datetime import timedelta

import pytest
from celery import current_app
from django.core.management import call_command
from django.utils import timezone

from environments.models import WorkerHeartbeat
from environments.provisioning import liveness
from tests.conftest import ROOT, wait_for

from .conftest import FAST_ENGINE, assert_matches_inventory, wait_for_state

STALL = 3  # seconds, in the test process (verdicts) and in the workers' environment
WORKER_ENV = {"WLPANEL_WORKER_HEARTBEAT_SECONDS": "0.5", "WLPANEL_WORKER_STALL_SECONDS": str(STALL)}


@pytest.fixture
def quick_verdicts(settings):
    settings.WLPANEL_WORKER_STALL_SECONDS = STALL


def verdict_of(pid: int) -> liveness.Verdict | None:
    verdicts = liveness.worker_liveness(pid=pid)
    return verdicts[0] if verdicts else None


def probe(capsys, **options) -> tuple[int, str]:
    """`manage.py worker_alive` in this process: its exit code and its output."""
    capsys.readouterr()
    try:
        call_command("worker_alive", **options)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().out.strip()


# --- The verdicts, from heartbeat rows alone -------------------------------------------------------


def _row(
    node: str, *, beat_ago: float, started_ago: float = 600, received_ago: float | None = None, **fields
):
    now = timezone.now()
    return WorkerHeartbeat.objects.create(
        node=node,
        hostname="host-a",
        pid=fields.pop("pid", 4242),
        queues=["work"],
        capacity=fields.pop("capacity", 8),
        reserved=fields.pop("reserved", 0),
        started_at=now - timedelta(seconds=started_ago),
        beat_at=now - timedelta(seconds=beat_ago),
        received_at=None if received_ago is None else now - timedelta(seconds=received_ago),
    )


@pytest.mark.django_db
def test_verdicts_from_heartbeats_and_queue_depth(quick_verdicts):
    _row("alive@a", beat_ago=1, received_ago=1)
    _row("starting@a", beat_ago=1, started_ago=1)
    _row("busy@a", beat_ago=1, received_ago=60, reserved=8)
    _row("quiet@a", beat_ago=1, received_ago=60)
    _row("silent@a", beat_ago=60, received_ago=60)
    _row("gone@a", beat_ago=10_000)  # killed long ago: ignored

    def waiting(count):
        return {v.node: v.status for v in liveness.worker_liveness(queue_depth=lambda queues: count)}

    assert waiting(0) == {
        "alive@a": "alive",
        "starting@a": "starting",
        "busy@a": "busy",
        "quiet@a": "idle",
        "silent@a": "stalled",
    }
    assert waiting(5)["quiet@a"] == "stalled"

    def broker_down(queues):
        raise ConnectionRefusedError

    judged = {v.node: v for v in liveness.worker_liveness(queue_depth=broker_down)}
    # Neither a quiet worker nor a silent one is blamed while the broker does not answer.
    assert judged["quiet@a"].status == judged["silent@a"].status == "unknown"
    assert judged["alive@a"].status == "alive"


@pytest.mark.django_db
def test_worker_alive_exits_1_without_a_heartbeat(capsys):
    code, out = probe(capsys, pid=999_999)
    assert code == 1 and out == "missing: no heartbeat from pid 999999"


# --- Real workers ----------------------------------------------------------------------------------


@pytest.mark.workers
def test_a_worker_that_stops_consuming_while_work_waits_is_stalled(
    start_worker, quick_verdicts, celery_queue, client, admin_user, capsys
):
    client.force_login(admin_user)  # /healthz shows workers to staff only
    worker = start_worker(concurrency=2, extra_env=WORKER_ENV)
    pid = worker.process.pid
    row = wait_for(lambda: WorkerHeartbeat.objects.filter(pid=pid).first(), timeout=30, message="a heartbeat")
    assert row.queues == [celery_queue] and row.capacity == 2

    def consuming():
        current_app.send_task("environments.reconcile")  # beat's reconciler would send one every 15 s
        verdict = verdict_of(pid)
        return verdict.status == "alive" and verdict

    assert (
        "took a message" in wait_for(consuming, timeout=30, interval=0.5, message="an alive verdict").reason
    )
    code, out = probe(capsys, pid=pid)
    assert code == 0 and out.startswith(f"alive: {row.node} (pid {pid}) took a message")

    # Alive and beating, but no longer taking anything from its queue.
    assert current_app.control.cancel_consumer(celery_queue, destination=[row.node], reply=True)
    current_app.send_task("environments.reconcile")
    stalled = wait_for(
        lambda: verdict_of(pid).stalled and verdict_of(pid), timeout=30, message="a stalled verdict"
    )
    assert f"message(s) wait in {celery_queue}" in stalled.reason
    code, out = probe(capsys, pid=pid)
    assert code == 1 and out.startswith(f"stalled: {row.node} (pid {pid}) has taken nothing for")

    # Informational in /healthz (for staff): the web stays up for a worker's problem.
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert health.json()["workers"]["ok"] is False
    assert {"node": row.node, "pid": pid, "status": "stalled", "reason": stalled.reason} in health.json()[
        "workers"
    ]["items"]

    current_app.control.add_consumer(celery_queue, destination=[row.node], reply=True)
    wait_for(lambda: verdict_of(pid).status == "alive", timeout=30, message="alive again once it consumes")


# --- make run's supervisor (scripts/run.py) ----------------------------------------------------------


def _run_script():
    spec = importlib.util.spec_from_file_location("wlpanel_run_script", ROOT / "scripts" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _heartbeat_of(worker) -> WorkerHeartbeat | None:
    return WorkerHeartbeat.objects.filter(pid=worker.process.pid).first()


@pytest.mark.workers
def test_make_run_restarts_a_killed_worker_and_a_stalled_one(
    start_worker, worker_env, celery_queue, make_environment, control, capsys
):
    """`start_worker` is only asked for its routing to this session's queue: run.py starts the worker."""
    run = _run_script()
    env = {**worker_env, **FAST_ENGINE, **WORKER_ENV, "WLPANEL_LIVENESS_PROBE_SECONDS": "1"}
    args = [sys.executable, "-m", "celery", "-A", "wlpanel", "worker", "-Q", celery_queue, "-c", "2", "-l", "info",
            "--without-gossip", "--without-mingle"]  # fmt: skip
    stop = threading.Event()
    worker = run.Supervised("worker", args, env, probe=True)
    supervisor = threading.Thread(target=run.supervise, args=([worker], []), kwargs={"stop": stop.is_set})
    supervisor.start()
    try:
        first = worker.process.pid
        wait_for(lambda: _heartbeat_of(worker), timeout=30, message="the first worker's heartbeat")
        os.killpg(first, signal.SIGKILL)
        second = wait_for(
            lambda: worker.process.pid != first and worker.process.pid, timeout=30, message="a restart"
        )

        wait_for(lambda: _heartbeat_of(worker), timeout=30, message="the second worker's heartbeat")
        os.kill(second, signal.SIGSTOP)  # alive, and taking nothing
        wait_for(
            lambda: worker.process.pid != second, timeout=30, message="the stalled worker to be replaced"
        )

        environment = make_environment("supervised")
        wait_for_state(environment, "ready", "failed", timeout=90, reconcile=True)
        assert environment.state == "ready", environment.failure_reason
        assert_matches_inventory(environment, control)
    finally:
        stop.set()
        supervisor.join()
        run.stop_children()
    out = capsys.readouterr().out
    assert f"[make run] worker (pid {first}) exited with code -9; starting it again in 1 s" in out
    assert f"[make run] worker (pid {second}) is stalled (stalled: " in out
    assert "no heartbeat for" in out
    for pid in (first, second, worker.process.pid):
        assert not os.path.exists(f"/proc/{pid}"), f"worker {pid} left behind"
