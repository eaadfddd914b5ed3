"""Chaos benchmark: N environments built and torn down under a fault mix. Prints numbers; asserts nothing.

Everything it breaks is its own: a private PostgreSQL (initdb in a temporary directory, run as
the `postgres` user when started as root) and a private redis-server, both on free loopback
ports; an in-process sandbox; its own workers and beat. The machine's shared servers are never
touched.

Faults: 10% of mutating calls take effect and then answer 500 (`after_effect`), creates slow
enough now and then to pass the workers' read timeout, 10% throttling, eventual consistency
(new ids invisible for a while), worker kills (SIGKILL of the whole process group) during the
builds and the teardowns, a broker restart (kill -9, no persistence) and a database restart
(`pg_ctl restart -m immediate`).

It prints: ready / failed; duplicates (AWS resources beyond one per plan step); what is left
in AWS after teardown (by tag, volumes included); executed-but-unrecorded mutating calls (the
sandbox's own call log against the panel's call log); the time each interruption cost; wall time.

    .venv/bin/python bench/chaos.py                 # 20 environments
    .venv/bin/python bench/chaos.py -n 8 --kills 2
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SFO = "us-west-2-wl1-sfo-wlz-1"
GROUP = "us-west-2-wl1"
QUEUE = f"wlpanel-chaos-{os.getpid()}"
MUTATING_PATTERNS = (
    "Create*", "Allocate*", "Associate*", "Attach*", "Authorize*", "RunInstances",
    "Delete*", "Release*", "Terminate*", "Detach*", "Disassociate*",
)  # fmt: skip
AFTER_EFFECT_CODE = "InternalError"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception:  # noqa: BLE001 - a server coming back answers errors for a moment
            pass
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


# --- Private servers ---------------------------------------------------------------------------------


class PrivatePostgres:
    """A throwaway cluster: initdb, start, restart -m immediate, stop."""

    def __init__(self):
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="wlpanel-chaos-pg-"))
        self.data = self.directory / "data"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/wlpanel_chaos"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_postgres, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _options(self) -> str:
        return f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off"

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self._run("pg_ctl", "-D", str(self.data), "-o", self._options(), "-l", str(self.directory / "log"), "-w", "start")
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "wlpanel_chaos")

    def restart_immediate(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-o", self._options(), "-l",
                  str(self.directory / "log"), "-w", "restart")  # fmt: skip

    def stop(self) -> None:
        subprocess.run([*self.as_postgres, "pg_ctl", "-D", str(self.data), "-m", "immediate", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        shutil.rmtree(self.directory, ignore_errors=True)


class PrivateRedis:
    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        wait_until(lambda: redis.Redis(port=self.port).ping(), 10, "the private redis")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


class Celery:
    """A worker (or beat) in its own process group."""

    def __init__(self, args: list[str], env: dict, log: Path):
        self.log = open(log, "ab")  # noqa: SIM115 - open for the process's life
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "wlpanel", *args], cwd=ROOT, env=env,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=60)
        self.log.close()


# --- The run -----------------------------------------------------------------------------------------


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--environments", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=6, help="prefork processes per worker")
    parser.add_argument("--kills", type=int, default=3, help="worker kills (spread over build and teardown)")
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--read-timeout", type=float, default=2.0, help="the workers' AWS read timeout, s")
    parser.add_argument("--pending", type=float, default=3.0, help="instance pending-to-running seconds")
    parser.add_argument("--timeout", type=float, default=900.0, help="give up on a phase after this, s")
    return parser.parse_args()


def configure_faults(sandbox, args) -> None:
    sandbox.control("POST", "latency", {"preset": "aws"})
    # Creates now and then slower than the read timeout: a lognormal with a long tail.
    sandbox.control("POST", "latency", {"action": "Create*", "ms": 600, "distribution": "lognormal", "p99_ratio": 6})
    for pattern in MUTATING_PATTERNS:
        sandbox.control("POST", "faults", {"action": pattern, "code": AFTER_EFFECT_CODE, "status": 500,
                                           "after_effect": True, "rate": args.fault_rate})  # fmt: skip
    sandbox.control("POST", "faults", {"action": "*", "code": "RequestLimitExceeded", "status": 503, "rate": args.fault_rate})
    sandbox.control("POST", "consistency", {"seconds": 2})


class Sandbox:
    def __init__(self, pending: float):
        from sandbox.server import start

        self.server = start(host="127.0.0.1", port=0, pending_seconds=pending)
        self.url = self.server.url

    def control(self, method: str, path: str, body: dict | None = None, **query) -> dict:
        import requests

        answer = requests.request(method, f"{self.url}/_sandbox/{path}", json=body, params=query, timeout=30)
        answer.raise_for_status()
        return answer.json()


def retrying(read):
    """Run a database read, waiting out a restart of the (private) database."""
    from django.db import InterfaceError, OperationalError, connection

    for _ in range(300):
        try:
            return read()
        except (OperationalError, InterfaceError):
            connection.close()
            time.sleep(0.2)
    return read()


def seed(sandbox):
    from django.utils import timezone

    from accounts.choices import TeamRole
    from accounts.models import Team, User
    from environments.models import Zone

    team = Team.objects.create(slug="chaos", name="Chaos team", max_ttl_hours=72)
    alice = User.objects.create_user("alice", password="x-chaos-only")
    bob = User.objects.create_user("bob", password="x-chaos-only")
    team.memberships.create(user=alice, role=TeamRole.MEMBER)
    team.memberships.create(user=bob, role=TeamRole.APPROVER)
    zone = Zone.objects.create(
        name=SFO, group_name=GROUP, region="us-west-2", parent_zone_name="us-west-2a", network_border_group=SFO,
        opt_in_status="opted-in", instance_types=["t3.medium"], described_at=timezone.now(),
    )  # fmt: skip
    return team, alice, bob, zone


class Interruptions:
    """Kills and restarts, and what each one cost: the time until the engine had taken back every
    step the dead worker held (a kill), or until a step finished again (a restart)."""

    def __init__(self, env: dict, args, log_dir: Path, workers: list[Celery]):
        self.env, self.args, self.log_dir, self.workers = env, args, log_dir, workers
        self.costs: list[tuple[str, float]] = []

    def new_worker(self) -> Celery:
        name = f"chaos{len(self.workers)}@%h"
        worker = Celery(["worker", "-Q", QUEUE, "-c", str(self.args.concurrency), "-n", name, "-l", "warning",
                         "--without-gossip", "--without-mingle"], self.env, self.log_dir / f"{name[:-3]}.log")  # fmt: skip
        self.workers.append(worker)
        return worker

    def kill_worker(self) -> None:
        from environments.models import Resource

        victim = next(worker for worker in self.workers if worker.process.poll() is None)  # the longest running

        def holding() -> list:
            return list(Resource.objects.filter(lease_owner__contains=f":{victim.pid}:").values_list("pk", "lease_owner"))

        deadline = time.monotonic() + 30
        held = retrying(holding)
        while not held and time.monotonic() < deadline:  # kill it in the middle of a step
            time.sleep(0.1)
            held = retrying(holding)
        victim.kill()
        began = time.monotonic()
        self.new_worker()
        if not held:
            self.costs.append(("worker kill (held no step)", 0.0))
            return

        def taken_back() -> bool:
            owners = dict(Resource.objects.filter(pk__in=[pk for pk, _ in held]).values_list("pk", "lease_owner"))
            return all(owners[pk] != owner for pk, owner in held)

        wait_until(lambda: retrying(taken_back), self.args.timeout, "the killed worker's steps to be taken back")
        self.costs.append((f"worker kill ({len(held)} step(s) held)", time.monotonic() - began))

    def _progress_after(self, label: str, restarted) -> None:
        from django.db.models import Max

        from environments.models import Resource

        before = retrying(lambda: Resource.objects.aggregate(last=Max("finished_at"))["last"])
        began = time.monotonic()
        restarted()

        def progressed() -> bool:
            last = Resource.objects.aggregate(last=Max("finished_at"))["last"]
            return last is not None and (before is None or last > before)

        wait_until(lambda: retrying(progressed), self.args.timeout, f"progress after the {label}")
        self.costs.append((label, time.monotonic() - began))


def wait_settled(ids: list[int], states: tuple[str, ...], timeout: float) -> None:
    from environments.models import Environment

    wait_until(
        lambda: retrying(lambda: not Environment.objects.filter(pk__in=ids).exclude(state__in=states).exists()),
        timeout,
        f"every environment to be {'/'.join(states)}",
    )


def duplicates(sandbox, ids: list[int]) -> int:
    extra = 0
    for environment_id in ids:
        per_step: dict[str, int] = {}
        for item in sandbox.control("GET", "inventory", tag=f"wlpanel:environment={environment_id}")["items"]:
            key = item["tags"].get("wlpanel:resource", "?")
            per_step[key] = per_step.get(key, 0) + 1
        extra += sum(count - 1 for count in per_step.values() if count > 1)
    return extra


def left_in_aws(sandbox, ids: list[int]) -> int:
    from aws.client import CallContext, ec2_client

    ec2 = ec2_client("us-west-2", context=CallContext())
    left = sum(
        len(sandbox.control("GET", "inventory", tag=f"wlpanel:environment={environment_id}")["items"]) for environment_id in ids
    )
    volumes = ec2.describe_volumes(Filters=[{"Name": "tag-key", "Values": ["wlpanel:environment"]}])["Volumes"]
    return left + sum(1 for volume in volumes if volume["State"] not in ("deleting", "deleted"))


def unrecorded_calls(sandbox) -> int:
    """Mutating calls the sandbox executed (answered 200, or took effect before an injected 500)
    beyond the attempts the panel's call log holds (intents, and botocore's retries of answered calls)."""
    from django.db.models import Sum

    from audit.models import AwsCall

    executed: dict[str, int] = {}
    for call in sandbox.control("GET", "calls")["calls"]:
        action = call["action"]
        if action.startswith(("Describe", "Get")) or action == "ModifyAvailabilityZoneGroup":
            continue
        if call["status"] == 200 or call.get("code") == AFTER_EFFECT_CODE:
            executed[action] = executed.get(action, 0) + 1
    missing = 0
    for action, count in executed.items():
        calls = AwsCall.objects.filter(operation=action, mutating=True)
        intents = calls.filter(outcome="intent").count()
        retries = calls.exclude(outcome__in=("intent", "resolved")).aggregate(total=Sum("retries"))["total"] or 0
        missing += max(0, count - intents - retries)
    return missing


def main() -> None:
    args = parse_arguments()
    postgres, broker = PrivatePostgres(), PrivateRedis()
    postgres.start()
    broker.start()
    sandbox = Sandbox(args.pending)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "wlpanel.settings",
        "DATABASE_URL": postgres.url,
        "CELERY_BROKER_URL": broker.url,
        "WLPANEL_QUEUE": QUEUE,
        "WLPANEL_AWS_ENDPOINT": sandbox.url,
        "WLPANEL_AWS_READ_TIMEOUT": str(args.read_timeout),
        "WLPANEL_POLL_SECONDS": "1",
        "WLPANEL_CREATE_GRACE_SECONDS": "15",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env)
    log_dir = Path(tempfile.mkdtemp(prefix="wlpanel-chaos-logs-"))
    workers: list[Celery] = []
    beat = None
    try:
        import django

        django.setup()
        from django.core.management import call_command

        from audit.choices import Source
        from audit.context import Origin
        from environments.models import Environment
        from environments.services import (
            environment_destroy,
            environment_request_approve,
            environment_request_create,
        )

        call_command("migrate", verbosity=0)
        sandbox.control("POST", "reset")
        from aws.client import CallContext, ec2_client

        ec2_client("us-west-2", context=CallContext()).modify_availability_zone_group(GroupName=GROUP, OptInStatus="opted-in")
        team, alice, bob, zone = seed(sandbox)
        configure_faults(sandbox, args)
        chaos = Interruptions(env, args, log_dir, workers)
        chaos.new_worker()
        chaos.new_worker()
        beat = Celery(["beat", "-s", str(log_dir / "beat-schedule"), "-l", "warning"], env, log_dir / "beat.log")
        print(f"chaos: {args.environments} environments; private postgres :{postgres.port}, redis :{broker.port}; "
              f"sandbox {sandbox.url}; logs in {log_dir}")  # fmt: skip

        began = time.monotonic()
        shell = Origin(user=alice, source=Source.SHELL)
        requests = [
            environment_request_create(origin=shell, team=team, zone=zone, name=f"chaos-{number}", instance_type="t3.medium")
            for number in range(args.environments)
        ]
        ids = [environment_request_approve(origin=Origin(user=bob, source=Source.SHELL), request_id=r.pk).pk for r in requests]
        build_kills = max(1, args.kills // 2 + args.kills % 2)
        for number in range(build_kills):
            time.sleep(4)
            chaos.kill_worker()
            if number == 0:
                chaos._progress_after("broker restart", lambda: (broker.kill(), time.sleep(2), broker.start()))
        from django.db import connection

        chaos._progress_after("database restart", lambda: (connection.close(), postgres.restart_immediate()))
        wait_settled(ids, ("ready", "failed"), args.timeout)
        built = time.monotonic() - began
        environments = retrying(lambda: list(Environment.objects.filter(pk__in=ids)))
        ready = sum(e.state == "ready" for e in environments)
        failed = [f"{e.name}: {e.failure_reason[:160]}" for e in environments if e.state != "ready"]
        duplicated = duplicates(sandbox, ids)

        system = Origin.system(source=Source.SHELL)
        for environment_id in ids:
            retrying(lambda environment_id=environment_id: environment_destroy(origin=system, environment_id=environment_id))
        for _ in range(args.kills - build_kills):
            time.sleep(3)
            chaos.kill_worker()
        wait_settled(ids, ("destroyed", "destroy_failed"), args.timeout)
        wall = time.monotonic() - began
        environments = retrying(lambda: list(Environment.objects.filter(pk__in=ids)))
        destroyed = sum(e.state == "destroyed" for e in environments)
        sandbox.control("DELETE", "faults")
        sandbox.control("DELETE", "latency")
        left = left_in_aws(sandbox, ids)
        unrecorded = retrying(lambda: unrecorded_calls(sandbox))

        print(f"ready                          {ready}/{len(ids)}  (build phase {built:.1f} s)")
        for line in failed:
            print(f"  not ready: {line}")
        print(f"duplicates                     {duplicated}")
        print(f"destroyed                      {destroyed}/{len(ids)}")
        print(f"left in AWS after teardown     {left}")
        print(f"executed-but-unrecorded calls  {unrecorded}")
        for label, cost in chaos.costs:
            print(f"interruption: {label:28s} {cost:5.1f} s")
        kill_costs = [cost for label, cost in chaos.costs if label.startswith("worker kill") and cost]
        if kill_costs:
            print(f"per worker kill (median/max)   {statistics.median(kill_costs):.1f} / {max(kill_costs):.1f} s")
        print(f"wall time                      {wall:.1f} s")
    finally:
        for worker in workers:
            worker.kill(signal.SIGKILL)
        if beat is not None:
            beat.kill(signal.SIGKILL)
        sandbox.server.stop()
        broker.kill()
        postgres.stop()


if __name__ == "__main__":
    main()
