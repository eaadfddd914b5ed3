"""At-least-once delivery, SIGKILLed workers and a restarted broker never duplicate AWS resources."""

import socket
import subprocess
import threading
import time

import pytest
import redis
from celery import current_app
from django.db import connection
from django.utils import timezone

from environments.choices import ResourceState
from environments.provisioning import engine
from tests.conftest import wait_for

from .conftest import assert_matches_inventory, wait_for_state

pytestmark = pytest.mark.workers


def _in_flight(control, action: str) -> bool:
    return any(call["status"] is None for call in control.calls(action))


@pytest.mark.parametrize(
    "action",
    [
        "RunInstances",  # ClientToken: the same call again returns the same instance
        "CreateVpc",  # no token: found again by its tags
        "AllocateAddress",  # no token: found again by its tags
    ],
)
def test_worker_killed_between_the_aws_create_and_the_db_commit(action, engine_worker, make_environment, control):
    # The sandbox sleeps before moto runs the call, so the create still happens after the kill.
    control.post("latency", {"action": action, "ms": 2500})
    worker = engine_worker()
    environment = make_environment(f"kill-{action.lower()}")
    wait_for(lambda: _in_flight(control, action), timeout=60, message=f"{action} in flight")
    worker.kill()
    wait_for(lambda: not _in_flight(control, action), timeout=10, message=f"{action} answered after the kill")
    control.delete("latency")
    assert environment.resources.filter(aws_id="", create_started_at__isnull=False).exists()

    engine_worker()
    wait_for_state(environment, "ready", "failed", timeout=90, reconcile=True)
    assert environment.state == "ready", environment.failure_reason
    assert_matches_inventory(environment, control)


def test_duplicate_messages_and_concurrent_runs_of_one_step(engine_worker, make_environment, control):
    control.post("latency", {"action": "CreateVpc", "ms": 1000})
    environment = make_environment("twice")  # its advance message waits for a worker
    vpc = environment.resources.get(key="vpc")
    claimed = []

    def run():
        claimed.append(engine._claim(vpc.pk))
        connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(claim is not None for claim in claimed) == 1  # one claim wins, the other backs off
    vpc.refresh_from_db()
    vpc.lease_until = None  # let the workers have it again
    vpc.save()

    for _ in range(3):
        current_app.send_task("environments.advance", args=[environment.pk])
        current_app.send_task("environments.run_step", args=[vpc.pk])
    engine_worker(concurrency=4)
    wait_for_state(environment, "ready", "failed")
    assert environment.state == "ready", environment.failure_reason
    assert_matches_inventory(environment, control)
    assert control.get("calls")["counts"].get("CreateVpc") == 1


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A throwaway redis-server without persistence: a restart loses every queued message."""

    def __init__(self):
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: self._answers(), timeout=10, message="private redis to answer")

    def _answers(self) -> bool:
        try:
            return redis.Redis(port=self.port).ping()
        except redis.ConnectionError:
            return False

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture
def private_broker():
    """A private broker for this test's workers and for this process's publisher."""
    broker = PrivateRedis()
    broker.start()
    previous = current_app.conf.broker_url
    _switch_broker(broker.url)
    yield broker
    _switch_broker(previous)
    broker.kill()


def _switch_broker(url: str) -> None:
    # Fresh connection pools on the next publish (the old ones point at the other broker).
    current_app.conf.broker_url = current_app.conf.broker_write_url = current_app.conf.broker_read_url = url
    current_app._pool = None
    current_app.amqp._producer_pool = None


def test_broker_restarted_mid_build(private_broker, engine_worker, make_environment, control):
    control.post("latency", {"action": "RunInstances", "ms": 1500})
    engine_worker(CELERY_BROKER_URL=private_broker.url)
    environment = make_environment("broker")
    wait_for(
        lambda: environment.resources.filter(key="vpc", state=ResourceState.READY).exists(),
        timeout=60,
        message="the VPC to be built",
    )
    private_broker.kill()  # queued and unacknowledged messages are gone with it
    time.sleep(1)
    private_broker.start()
    control.delete("latency")
    # The same worker finishes the build: it reconnected and consumes again (wlpanel/redis_transport.py).
    wait_for_state(environment, "ready", "failed", timeout=60, reconcile=True)
    assert environment.state == "ready", environment.failure_reason
    assert_matches_inventory(environment, control)


def test_a_worker_waiting_on_brpop_with_a_task_running_keeps_consuming_after_a_broker_restart(
    private_broker, engine_worker, control, celery_queue
):
    """The stall docs/engine.md records, made deterministic: Redis dies while the worker has a task
    running and room for more (so it sits in BRPOP). With kombu's stock transport the consumer dies
    of an AttributeError ("Unrecoverable error") and the worker takes nothing more, every time."""
    from environments.models import WorkerHeartbeat

    control.post("latency", {"action": "DescribeAvailabilityZones", "ms": 3000})
    worker = engine_worker(CELERY_BROKER_URL=private_broker.url, WLPANEL_WORKER_HEARTBEAT_SECONDS="0.5")
    current_app.send_task("environments.zones_refresh")
    wait_for(lambda: _in_flight(control, "DescribeAvailabilityZones"), timeout=30, message="the task to be running")
    private_broker.kill()
    time.sleep(1)
    private_broker.start()
    control.delete("latency")
    restarted_at = timezone.now()

    for _ in range(3):
        current_app.send_task("environments.reconcile")
    queue = redis.Redis(port=private_broker.port)
    wait_for(lambda: queue.llen(celery_queue) == 0, timeout=30, message="the messages sent after the restart to be taken")
    wait_for(
        lambda: WorkerHeartbeat.objects.filter(pid=worker.process.pid, received_at__gt=restarted_at).exists(),
        timeout=10,
        message="the worker to record a message taken after the restart",
    )
    assert worker.process.poll() is None
    assert "Unrecoverable error" not in worker.log_path.read_text()
