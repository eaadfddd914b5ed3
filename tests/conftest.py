"""Shared fixtures: people and a team, an opted-in zone, the sandbox over HTTP, real Celery workers.

`make test` always runs against PostgreSQL and Redis (docs/api.md): the session stops with a
clear message when either does not answer, instead of quietly testing something else.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.conf import settings

from accounts.choices import GlobalRole, TeamRole
from audit.choices import Source
from audit.context import Origin

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery-staple"


def _answers(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def pytest_configure(config):
    # Full-strength hashing makes every test user cost ~0.3 s; tests don't need it.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.WLPANEL_CHECKS_AUTOMATIC = False  # tests/checks turn the automatic connectivity run on
    from tests.audit.flush import allow_test_flush_of_audit_tables

    allow_test_flush_of_audit_tables()
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        pytest.exit(
            "The tests need PostgreSQL: start it on 127.0.0.1:5432 or set DATABASE_URL "
            f"(settings fell back to {database['ENGINE']}).",
            returncode=3,
        )
    if not settings.CELERY_BROKER_URL.startswith("redis") or not _answers(settings.CELERY_BROKER_URL, 6379):
        pytest.exit(
            f"The tests need Redis: start it on 127.0.0.1:6379 or set CELERY_BROKER_URL (got {settings.CELERY_BROKER_URL}).",
            returncode=3,
        )


# --- People -------------------------------------------------------------------------------------


@pytest.fixture
def make_user(db, django_user_model):
    def make(username: str, *, team=None, role: str | None = None, **extra):
        user = django_user_model.objects.create_user(
            username=username, password=PASSWORD, email=f"{username}@example.test", **extra
        )
        if team is not None and role is not None:
            team.memberships.create(user=user, role=role)
        return user

    return make


@pytest.fixture
def team(db):
    from accounts.models import Team

    return Team.objects.create(slug="demo", name="Demo team")


@pytest.fixture
def other_team(db):
    from accounts.models import Team

    return Team.objects.create(slug="other", name="Other team")


@pytest.fixture
def alice(make_user, team):
    return make_user("alice", team=team, role=TeamRole.MEMBER)


@pytest.fixture
def bob(make_user, team):
    return make_user("bob", team=team, role=TeamRole.APPROVER)


@pytest.fixture
def erin(make_user, team):
    """A second approver of the demo team."""
    return make_user("erin", team=team, role=TeamRole.APPROVER)


@pytest.fixture
def carol(make_user):
    return make_user("carol", global_role=GlobalRole.AUDITOR)


@pytest.fixture
def admin_user(make_user):
    return make_user("admin", is_superuser=True, is_staff=True)


@pytest.fixture
def mallory(make_user, other_team):
    """An approver of another team."""
    return make_user("mallory", team=other_team, role=TeamRole.APPROVER)


def origin_of(user, source=Source.WEB) -> Origin:
    return Origin(user=user, source=source, ip_address="127.0.0.1", user_agent="pytest")


@pytest.fixture
def origin():
    return origin_of


# --- Zones ----------------------------------------------------------------------------------------

SFO = "us-west-2-wl1-sfo-wlz-1"


@pytest.fixture
def zone(db):
    """The seed's zone, opted in, as the zone cache would hold it."""
    from django.utils import timezone

    from environments.models import Zone

    return Zone.objects.create(
        name=SFO,
        zone_id="usw2-wl1-sfo-wlz1",
        group_name="us-west-2-wl1",
        region="us-west-2",
        parent_zone_name="us-west-2a",
        parent_zone_id="usw2-az1",
        network_border_group=SFO,
        opt_in_status="opted-in",
        carrier="Verizon",
        metro="San Francisco Bay Area",
        instance_types=["t3.medium", "t3.xlarge", "r5.2xlarge", "g4dn.2xlarge"],
        described_at=timezone.now(),
    )


# --- The sandbox (an embedded AWS endpoint) -------------------------------------------------------


@pytest.fixture(scope="session")
def sandbox_server():
    """One sandbox server for the whole test session, on a free loopback port."""
    from sandbox.server import start

    # An opt-in takes 1 s here (5 s by default): long enough that whoever opts in must wait for
    # the zones to report it, as on AWS, short enough for hundreds of tests.
    server = start(host="127.0.0.1", port=0, pending_seconds=1, opt_in_seconds=1)
    yield server
    server.stop()


def opt_in_and_wait(ec2, group: str, timeout: float = 30.0) -> None:
    """Opt the zone group in on the sandbox and wait until its zones report `opted-in`, as an
    account that opted in earlier would be (the test's `zone` row says so already).

    Earlier: its opt-in delay has long passed, so this one opt-in takes 0 s (the sandbox's delay is
    put back at once). The delay itself is what tests/provisioning/test_zones.py, tests/clouds and
    tests/sandbox/test_sandbox_zones.py are about; here it only cost a second per test."""
    import requests

    control = f"{ec2.meta.endpoint_url}/_sandbox"
    delay = requests.get(f"{control}/state", timeout=10).json()["opt_in_seconds"]
    requests.post(f"{control}/opt-in", json={"seconds": 0}, timeout=10).raise_for_status()
    try:
        ec2.modify_availability_zone_group(GroupName=group, OptInStatus="opted-in")
    finally:
        requests.post(f"{control}/opt-in", json={"seconds": delay}, timeout=10).raise_for_status()
    deadline = time.monotonic() + timeout
    while True:
        zones = ec2.describe_availability_zones(
            AllAvailabilityZones=True, Filters=[{"Name": "group-name", "Values": [group]}]
        )["AvailabilityZones"]
        if zones and all(zone["OptInStatus"] == "opted-in" for zone in zones):
            return
        assert time.monotonic() < deadline, f"{group} never reported opted-in"
        time.sleep(0.2)


@pytest.fixture
def sandbox(sandbox_server, settings):
    """The sandbox, reset, with the app pointed at it."""
    import requests

    calls_settle(sandbox_server.url)
    requests.post(f"{sandbox_server.url}/_sandbox/reset", timeout=10).raise_for_status()
    requests.post(f"{sandbox_server.url}/_sandbox/pending", json={"seconds": 1}, timeout=10).raise_for_status()
    forget_learned_rates()
    settings.WLPANEL_AWS_ENDPOINT = sandbox_server.url
    return sandbox_server


def calls_settle(url: str, timeout: float = 30) -> None:
    """Let the calls of the last test's workers (killed at its end) finish before a reset: one that
    was sleeping out an injected latency would otherwise create its resource in the fresh sandbox."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        calls = requests.get(f"{url}/_sandbox/calls", timeout=10).json()["calls"]
        if all(call["status"] is not None for call in calls):
            return
        time.sleep(0.05)


def forget_learned_rates() -> None:
    """A reset sandbox is an AWS with full buckets: the rates the panel learned from the last one
    (aws/rate.py keeps them in Redis for an hour) would slow this test down for nothing."""
    import redis

    from aws import rate

    connection = redis.Redis.from_url(rate.redis_url())
    for key in connection.scan_iter("wlpanel:rate:*"):
        connection.delete(key)


# --- Real Celery workers --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def celery_queue():
    """A queue of this test session's own, so parallel runs on one Redis never share work."""
    return f"wlpanel-test-{uuid.uuid4().hex[:8]}"


class WorkerProcess:
    """A `celery worker` (or beat) subprocess against the test database and the sandbox."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self.log = open(log_path, "ab")  # noqa: SIM115 - kept open for the process's life
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "wlpanel", *args],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, sig=signal.SIGKILL) -> None:
        """Kill the whole process group (the main process and its prefork children)."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """At the end of its test nothing more is asked of a worker: killed, not shut down warmly (the
        prefork pool's warm shutdown takes 2 s). What it leaves behind is tidied by `start_worker`
        (its database sessions, its messages) and by the next test's `sandbox` (its calls in flight)."""
        self.kill()
        self.log.close()


@pytest.fixture
def worker_env(transactional_db, celery_queue, sandbox, tmp_path):
    database = settings.DATABASES["default"]
    user = database.get("USER") or "postgres"
    host = database.get("HOST") or "127.0.0.1"
    port = database.get("PORT") or 5432
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{user}@{host}:{port}/{database['NAME']}",
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "WLPANEL_QUEUE": celery_queue,
        "WLPANEL_AWS_ENDPOINT": sandbox.url,
        "PYTHONUNBUFFERED": "1",
        "WLPANEL_CHECKS_AUTOMATIC": "0",  # tests/checks turn it on for their workers
    }
    return env


@pytest.fixture
def start_worker(worker_env, celery_queue, tmp_path, settings):
    """Start real worker processes: `start_worker(concurrency=4)`; all are stopped after the test."""
    settings.CELERY_TASK_DEFAULT_QUEUE = celery_queue
    from wlpanel.celery import app

    app.conf.task_default_queue = celery_queue
    started: list[WorkerProcess] = []

    def start(*, concurrency: int = 4, beat: bool = False, extra_env: dict | None = None) -> WorkerProcess:
        env = {**worker_env, **(extra_env or {})}
        name = f"w{len(started)}-{uuid.uuid4().hex[:6]}@%h"
        args = ["worker", "-Q", celery_queue, "-c", str(concurrency), "-n", name, "-l", "info", "--without-gossip", "--without-mingle"]
        if beat:
            args += ["-B", "-s", str(tmp_path / f"beat-{len(started)}")]
        worker = WorkerProcess(args, env, tmp_path / f"worker-{len(started)}.log")
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    if started:
        wait_for(_database_quiet, timeout=30, interval=0.05, message="the killed workers' database sessions to end")
        _forget_messages(celery_queue)
    app.conf.task_default_queue = settings.CELERY_TASK_DEFAULT_QUEUE


def _database_quiet() -> bool:
    """No other session on the test database is inside a statement or a transaction: PostgreSQL has
    rolled back what the killed workers had open, so flushing the tables waits for nobody."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'"
        )
        return cursor.fetchone()[0] == 0


def _forget_messages(queue: str) -> None:
    """Drop what killed workers leave of this session's queue in Redis: messages still waiting, and
    those taken but never acknowledged, which kombu would put back after its visibility timeout
    (10 minutes), in the middle of a later test."""
    import json

    import redis

    connection = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    connection.delete(queue, *(f"{queue}\x06\x16{step}" for step in (3, 6, 9)))  # kombu's priority lists
    for tag, raw in connection.hscan_iter("unacked"):
        if json.loads(raw)[2] == queue:  # [message, exchange, routing key]
            connection.pipeline().zrem("unacked_index", tag).hdel("unacked", tag).execute()


def wait_for(predicate, *, timeout: float = 60, interval: float = 0.2, message: str = "condition"):
    """Poll `predicate` until it returns something truthy; fail the test with `message` on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {message}")
