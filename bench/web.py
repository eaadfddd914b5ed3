"""Web benchmark: the pages as users meet them, under gunicorn, on 1,000 environments.

    .venv/bin/python bench/web.py [--environments 1000] [--clients 10] [--builds 10] [--duration 15]
                                  [--database wlpanel_bench_web] [--redis redis://127.0.0.1:6379/13]

What it does, in order:

1. (Re)creates the PostgreSQL database `--database` on the server of `BENCH_POSTGRES_URL`
   (default postgres://postgres@127.0.0.1:5432), migrates it, and drops it at the end.
2. Starts the sandbox (`manage.py sandbox`, its own process), fills the price cache from its Price
   List (as the daily refresh does), and builds one environment for real
   against it (the services, then the engine's `advance`/`run_step` run in this process), so the
   Describe* items stored on its resources are what AWS-shaped answers really look like.
3. Clones it into `--environments` environments across four teams (30 % ready with every resource
   described, 10 % provisioning and 10 % failed half described, 50 % destroyed), each with its own
   description times (so no two share a network view), its request, its audit rows through
   `record` (created, approved, how it ended) and the sample build's AWS calls under its own
   correlation id; then stores every network view as the worker does when a description lands.
4. Measures with `--clients` closed-loop clients (threads of this process on plain HTTP/1.1):
   (a) the detail page of every environment once per mode, each first request cold, on a fresh
       gunicorn as gunicorn.conf.py starts it (the master loads the code and compiles the
       templates before forking; nothing a page shows is cached): the baseline computes the network view on read
       (`WLPANEL_NETWORK_VIEW_ON_READ=1`, as pages did before it was stored), then as shipped —
       in the order A B B A over the two halves of the environments;
   (b) the environments list with filters (team, state, zone, search by name and by Carrier IP,
       sort, pages), in turn, for `--duration` seconds;
   (c) the progress fragment during real builds: a Celery worker (`-B`, broker `--redis`) builds
       `--builds` environments against the sandbox (AWS-like latencies) while each client polls
       one of them as htmx does (the next URL from the answer's `hx-get`), until 286 says it settled;
   and Django's login page as the floor of the stack.
5. Prints p50/p95/p99, requests/s, errors, CPU per request of gunicorn and of the PostgreSQL
   backends, and the stored detail page's p95 over the baseline's (the same run).

It prints numbers; it asserts nothing about timings. The target is p95 < 100 ms at 10 clients.
"""

import argparse
import heapq
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PASSWORD = "bench-password-not-a-secret"
TEAMS = ("edge-east", "edge-west", "media", "robotics")
SFO = "us-west-2-wl1-sfo-wlz-1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# --- The database --------------------------------------------------------------------------------


def recreate_database(server_url: str, name: str) -> str:
    import psycopg

    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise SystemExit(f"not a plain database name: {name!r}")
    with psycopg.connect(f"{server_url}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wlpanel.settings")
    os.environ.setdefault("WLPANEL_POLL_SECONDS", "0.2")
    os.environ.setdefault("WLPANEL_CHECKS_AUTOMATIC", "0")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# --- One real build, in this process ------------------------------------------------------------


class InProcessWorker:
    """Runs what the services and the engine publish (advance, run_step) here, honouring countdowns."""

    def __init__(self):
        from wlpanel.celery import app

        self.app = app
        self.queue: list[tuple[float, int, str, list]] = []
        self.sequence = itertools.count()
        app.send_task = self.send_task  # instance attribute: shadows Celery.send_task for this process

    def send_task(self, name, args=None, countdown=None, **_options):
        heapq.heappush(
            self.queue, (time.monotonic() + (countdown or 0), next(self.sequence), name, list(args or []))
        )

    def run_until(self, finished, *, timeout: float = 180) -> None:
        from environments.provisioning import engine

        deadline = time.monotonic() + timeout
        while not finished():
            if time.monotonic() > deadline:
                raise SystemExit("the sample build did not finish in time")
            if not self.queue:
                engine.reconcile()
                time.sleep(0.2)
                continue
            due, _, name, args = heapq.heappop(self.queue)
            time.sleep(max(0.0, due - time.monotonic()))
            if name == "environments.advance":
                engine.advance(*args)
            elif name == "environments.run_step":
                engine.run_step(*args)


def build_sample(*, team, zone, requester, approver, sandbox_url: str):
    """The seed's build, for real, against the sandbox: its Describe* items are the template."""
    import boto3
    from django.conf import settings

    from audit.choices import Source
    from audit.context import Origin
    from environments import services

    settings.WLPANEL_AWS_ENDPOINT = sandbox_url
    ec2 = boto3.client(
        "ec2",
        region_name=zone.region,
        endpoint_url=sandbox_url,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )
    ec2.modify_availability_zone_group(GroupName=zone.group_name, OptInStatus="opted-in")
    # AWS (and the strict sandbox) opts the group in a few seconds after accepting the request.
    deadline = time.monotonic() + 60
    while ec2.describe_availability_zones(
        AllAvailabilityZones=True, ZoneNames=[zone.name]
    )["AvailabilityZones"][0]["OptInStatus"] != "opted-in":
        if time.monotonic() > deadline:
            raise SystemExit(f"{zone.group_name} never reported opted-in")
        time.sleep(0.5)
    # The price cache, as the daily refresh fills it: every page prices its plan from it.
    from pricing.services import prices_refresh

    priced = prices_refresh(origin=Origin.system(source=Source.SHELL))
    print(f"prices refreshed from the sandbox's Price List: {priced['prices']} prices for {priced['locations']} locations")
    worker = InProcessWorker()
    request = services.environment_request_create(
        origin=Origin(user=requester, source=Source.WEB, ip_address="127.0.0.1", user_agent="bench"),
        team=team,
        zone=zone,
        name="sample",
        purpose="The template for the benchmark's environments",
        instance_type="t3.medium",
    )
    environment = services.environment_request_approve(
        origin=Origin(user=approver, source=Source.WEB, ip_address="127.0.0.1", user_agent="bench"),
        request_id=request.pk,
        plan_hash=request.plan_hash,
    )

    def settled():
        environment.refresh_from_db()
        return environment.state in ("ready", "failed")

    worker.run_until(settled)
    if environment.state != "ready":
        raise SystemExit(f"the sample build failed: {environment.failure_reason}")
    return environment


# --- A thousand environments ---------------------------------------------------------------------


def people_and_teams():
    from accounts.choices import TeamRole
    from accounts.models import Membership, Team, User

    teams = [Team.objects.create(slug=slug, name=slug.replace("-", " ").title()) for slug in TEAMS]
    bench = User.objects.create_user("bench", password=PASSWORD)
    members, approvers = [], []
    for team in teams:
        member = User.objects.create_user(f"{team.slug}-member", password=PASSWORD)
        approver = User.objects.create_user(f"{team.slug}-approver", password=PASSWORD)
        Membership.objects.create(user=member, team=team, role=TeamRole.MEMBER)
        Membership.objects.create(user=approver, team=team, role=TeamRole.APPROVER)
        Membership.objects.create(user=bench, team=team, role=TeamRole.APPROVER)
        members.append(member)
        approvers.append(approver)
    return teams, members, approvers


def seed_zone():
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


def shape_of(index: int) -> str:
    """30 % ready, 10 % provisioning, 10 % failed, 50 % destroyed (a team's history accumulates)."""
    return {0: "ready", 1: "ready", 2: "ready", 3: "provisioning", 4: "failed"}.get(index % 10, "destroyed")


def clone_environments(sample, *, count: int, teams, members, approvers) -> dict[str, int]:
    from django.db import transaction
    from django.utils import timezone

    from environments.models import Environment, EnvironmentRequest, Resource

    template = [
        {
            f.attname: getattr(resource, f.attname)
            for f in Resource._meta.concrete_fields
            if f.attname not in ("id", "environment_id")
        }
        for resource in sample.resources.order_by("id")
    ]
    half = len(template) // 2
    now = timezone.now()
    request_fields = {
        field: getattr(sample.request, field)
        for field in (
            "zone_id",
            "instance_type",
            "bastion",
            "vpc_cidr",
            "public_subnet_cidr",
            "wavelength_subnet_cidr",
            "wavelength_ingress",
            "ttl_hours",
            "plan",
            "plan_hash",
        )
    }
    shapes = [shape_of(i) for i in range(1, count)]
    with transaction.atomic():
        requests = EnvironmentRequest.objects.bulk_create(
            EnvironmentRequest(
                team=teams[i % len(teams)],
                requester=members[i % len(teams)],
                decided_by=approvers[i % len(teams)],
                decided_at=now,
                state="approved",
                name=f"env-{i:04d}",
                purpose="benchmark",
                **request_fields,
            )
            for i in range(1, count)
        )
        environments = Environment.objects.bulk_create(
            Environment(
                request=request,
                team=request.team,
                owner=request.requester,
                name=request.name,
                zone_id=sample.zone_id,
                region=sample.region,
                plan=sample.plan,
                plan_hash=sample.plan_hash,
                state=shape,
                failure_reason="InsufficientInstanceCapacity: not enough t3.medium capacity in the zone"
                if shape == "failed"
                else "",
                failure_code="InsufficientInstanceCapacity" if shape == "failed" else "",
                expires_at=now + timedelta(hours=72),
                ready_at=now if shape in ("ready", "destroyed") else None,  # destroyed after it was ready
                destroyed_at=now if shape == "destroyed" else None,
            )
            for request, shape in zip(requests, shapes, strict=True)
        )
        rows = []
        for environment in environments:
            for position, resource in enumerate(template):
                done = environment.state == "ready" or (
                    environment.state in ("provisioning", "failed") and position < half
                )
                fields = {
                    **resource,
                    "tags": {**resource["tags"], "wlpanel:environment": str(environment.pk)},
                }
                if fields["described_at"] is not None:
                    # Each its own description time, so each its own network view (no two pages alike).
                    fields["described_at"] += timedelta(microseconds=environment.pk)
                if environment.state == "destroyed":
                    fields.update(state="deleted", described=None, described_at=None)
                elif not done:
                    fields.update(
                        state="pending",
                        aws_id="",
                        described=None,
                        described_at=None,
                        started_at=None,
                        finished_at=None,
                    )
                    fields["attempts"] = 0
                    if environment.state == "failed" and position == half:
                        fields.update(
                            state="failed",
                            attempts=2,
                            last_error_code="InsufficientInstanceCapacity",
                            last_error="There is not enough capacity to fulfill your request.",
                        )
                rows.append(Resource(environment=environment, **fields))
        Resource.objects.bulk_create(rows, batch_size=2000)
    trails(sample, environments)
    counts: dict[str, int] = {}
    for shape in ["ready", *shapes]:
        counts[shape] = counts.get(shape, 0) + 1
    return counts


def trails(sample, environments) -> None:
    """Each clone's audit trail and AWS call log as its life left them: the request, its approval
    and how the build ended (through `record`, hash chain and all), and the sample build's calls
    under the clone's correlation id (the call log's rows are unchained, as rows from before its
    chain are)."""
    from audit.choices import Source
    from audit.models import AwsCall
    from audit.services import record

    calls = list(AwsCall.objects.filter(environment_id=sample.pk).order_by("id"))
    ended = {"ready": "environment.ready", "failed": "environment.failed", "destroyed": "environment.destroyed"}
    rows = []
    for environment in environments:
        correlation = f"bench-{environment.pk}"
        Environment = type(environment)
        Environment.objects.filter(pk=environment.pk).update(correlation_id=correlation)
        request = environment.request
        record(actor=request.requester, action="request.created", target=request, source=Source.WEB, correlation_id=correlation)
        record(actor=request.decided_by, action="request.approved", target=request, source=Source.WEB, correlation_id=correlation)
        if environment.state in ended:
            record(
                actor=None, action=ended[environment.state], target=environment, source=Source.WORKER,
                before={"state": "provisioning"}, after={"state": environment.state}, correlation_id=correlation,
            )  # fmt: skip
        for call in calls:
            rows.append(
                AwsCall(
                    created_at=call.created_at, service=call.service, region=call.region, operation=call.operation,
                    params=call.params, mutating=call.mutating, outcome=call.outcome, http_status=call.http_status,
                    duration_ms=call.duration_ms, request_id=call.request_id, environment_id=environment.pk,
                    resource_key=call.resource_key, correlation_id=correlation,
                )
            )  # fmt: skip
    AwsCall.objects.bulk_create(rows, batch_size=2000)


# --- gunicorn, a session -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(
    database_url: str, port: int, log_path: Path, *, workers: int, threads: int, extra_env: dict | None = None
) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    log = open(log_path, "ab")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "wlpanel.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited ({process.returncode}); see {log_path}")
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise SystemExit(f"gunicorn did not answer /healthz within 60 s; see {log_path}")


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def session_cookie(base_url: str) -> str:
    import requests

    session = requests.Session()
    session.get(f"{base_url}/login/", timeout=10).raise_for_status()
    answer = session.post(
        f"{base_url}/login/",
        data={"username": "bench", "password": PASSWORD, "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": f"{base_url}/login/"},
        timeout=10,
        allow_redirects=False,
    )
    if answer.status_code != 302 or "sessionid" not in session.cookies:
        raise SystemExit(f"logging in as bench failed: {answer.status_code}")
    return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


def _processes():
    """(pid, parent pid, CPU seconds, command line) of every process, from /proc."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        yield (
            int(stat.parent.name),
            int(fields[1]),
            (int(fields[11]) + int(fields[12])) / CLOCK_TICKS,
            cmdline,
        )


class CpuMeter:
    """CPU seconds of gunicorn (master and workers), of the PostgreSQL backends serving the benchmark
    database (their process titles name it), and of the whole machine (busy time of all cores)."""

    def __init__(self, server_pid: int, database: str):
        self.server_pid = server_pid
        self.database = f" {database} "

    @staticmethod
    def _machine_busy() -> float:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        idle = values[3] + values[4]  # idle + iowait
        return (sum(values) - idle) / CLOCK_TICKS

    def read(self) -> dict:
        """Per process, so that a backend that ends in between (CONN_MAX_AGE) cannot make a delta
        negative; what it spent after the first reading is then lost, a small undercount."""
        server, database = {}, {}
        for pid, parent, cpu, cmdline in _processes():
            if self.server_pid in (pid, parent):
                server[pid] = cpu
            elif cmdline.startswith("postgres:") and self.database in cmdline:
                database[pid] = cpu
        return {"server": server, "database": database, "machine": self._machine_busy()}

    @staticmethod
    def spent(before: dict, after: dict) -> dict[str, float]:
        """CPU seconds spent between two readings."""
        spent = {"machine": after["machine"] - before["machine"]}
        for name in ("server", "database"):
            spent[name] = sum(cpu - before[name].get(pid, 0.0) for pid, cpu in after[name].items())
        return spent


# --- The load: closed-loop clients on keep-alive-less HTTP/1.1, as browsers meet sync gunicorn ---


class Clients:
    """`clients` threads, each asking `next_path(client, state)` for a path (None: this client is
    done) and telling `answered(client, state, status, body)`; latencies in seconds per answer.

    A thread waits on its socket most of the time (the GIL is free then); what the load costs the
    machine is measured beside the server's (`client` CPU)."""

    def __init__(self, base_url: str, cookie: str, *, htmx: bool = False):
        parsed = urlparse(base_url)
        self.host, self.port = parsed.hostname, parsed.port
        self.headers = {"Cookie": cookie, **({"HX-Request": "true"} if htmx else {})}

    def run(self, clients: int, next_path, answered=None, *, seconds: float | None = None) -> dict:
        import http.client
        import threading

        latencies: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        deadline = time.monotonic() + seconds if seconds else None

        def client(number: int) -> None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
            state: dict = {}
            while deadline is None or time.monotonic() < deadline:
                path = next_path(number, state)
                if path is None:
                    break
                started = time.perf_counter()
                connection.request("GET", path, headers=self.headers)
                response = connection.getresponse()
                body = response.read()
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                if answered is not None:
                    answered(number, state, response.status, body)
            connection.close()

        cpu_before = time.process_time()
        began = time.monotonic()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - began
        return {
            "latencies": latencies,
            "statuses": statuses,
            "wall": wall,
            "client_cpu": (time.process_time() - cpu_before) / wall,
        }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else float("nan")


def measure(label: str, clients: Clients, count: int, next_path, answered=None, *, meter, seconds=None) -> dict:
    before = meter.read()
    result = clients.run(count, next_path, answered, seconds=seconds)
    spent = CpuMeter.spent(before, meter.read())
    latencies = result["latencies"]
    errors = sum(n for status, n in result["statuses"].items() if status >= 400)
    row = {
        "kind": label,
        "clients": count,
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / result["wall"],
        "p50": 1000 * percentile(latencies, 0.50),
        "p95": 1000 * percentile(latencies, 0.95),
        "p99": 1000 * percentile(latencies, 0.99),
        "server_ms": 1000 * spent["server"] / max(len(latencies), 1),
        "database_ms": 1000 * spent["database"] / max(len(latencies), 1),
        "client_cpu": result["client_cpu"],
        "machine_cpu": spent["machine"] / result["wall"],
        "statuses": result["statuses"],
        "latencies": latencies,
        "wall": result["wall"],
    }
    print(
        f"  {label:<44} {row['requests']:>5} requests, p50 {row['p50']:6.1f} ms, p95 {row['p95']:6.1f} ms, "
        f"p99 {row['p99']:6.1f} ms, {row['server_ms']:5.1f} ms gunicorn CPU/request, statuses {row['statuses']}",
        flush=True,
    )
    return row


def combine(passes: list[dict]) -> dict:
    """One row of several passes of a kind: percentiles over all their answers, CPU per request
    weighted by requests."""
    latencies = [latency for p in passes for latency in p["latencies"]]
    requests = len(latencies)
    statuses: dict[int, int] = {}
    for p in passes:
        for status, n in p["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    return {
        **passes[0],
        "requests": requests,
        "latencies": latencies,
        "errors": sum(p["errors"] for p in passes),
        "rps": requests / sum(p["wall"] for p in passes),
        "wall": sum(p["wall"] for p in passes),
        "p50": 1000 * percentile(latencies, 0.50),
        "p95": 1000 * percentile(latencies, 0.95),
        "p99": 1000 * percentile(latencies, 0.99),
        "server_ms": sum(p["server_ms"] * p["requests"] for p in passes) / requests,
        "database_ms": sum(p["database_ms"] * p["requests"] for p in passes) / requests,
        "client_cpu": sum(p["client_cpu"] * p["wall"] for p in passes) / sum(p["wall"] for p in passes),
        "machine_cpu": sum(p["machine_cpu"] * p["wall"] for p in passes) / sum(p["wall"] for p in passes),
        "statuses": statuses,
    }


def drain(paths: list[str]):
    """Each path once, to whichever client asks next (every first request of a page cold)."""
    import threading

    lock = threading.Lock()
    pending = list(reversed(paths))

    def next_path(_client, _state):
        with lock:
            return pending.pop() if pending else None

    return next_path


def rotate(paths: list[str]):
    """The paths in turn, again and again, shared by all clients."""
    counter = itertools.count()
    return lambda _client, _state: paths[next(counter) % len(paths)]


POLL = re.compile(rb'id="environment-live" hx-get="([^"]+)"')


def poll_builds(environment_ids: list[int]):
    """Client n polls environment n's progress fragment as htmx does: each answer names the next
    URL (with the `seen` fingerprint), and 286 (the build settled) ends that client's polling."""
    import html

    def next_path(client, state):
        if state.get("settled"):
            return None
        return state.get("path") or f"/environments/{environment_ids[client]}/progress/"

    def answered(_client, state, status, body):
        if status == 286:
            state["settled"] = True
        found = POLL.search(body)
        if found:
            state["path"] = html.unescape(found.group(1).decode())

    return next_path, answered


# --- The sandbox and a Celery worker, as processes ----------------------------------------------


def start_process(args: list[str], log_path: Path, env: dict) -> subprocess.Popen:
    log = open(log_path, "ab")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        args, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def start_sandbox(workdir: Path) -> tuple[subprocess.Popen, str]:
    ready = workdir / "sandbox.url"
    process = start_process(
        [sys.executable, "manage.py", "sandbox", "--port", "0", "--pending-seconds", "3", "--opt-in-seconds", "1",
         "--ready-file", str(ready)],
        workdir / "sandbox.log",
        {},
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (ready.exists() and ready.read_text().strip()):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the sandbox did not start; see {workdir / 'sandbox.log'}")
        time.sleep(0.2)
    return process, ready.read_text().strip()


def request_builds(count: int, *, teams, members, approvers, zone) -> list[int]:
    """Requests approved through the services: their builds go to the worker on commit."""
    from audit.choices import Source
    from audit.context import Origin
    from environments import services

    ids = []
    for number in range(count):
        team, member, approver = teams[number % len(teams)], members[number % len(teams)], approvers[number % len(teams)]
        request = services.environment_request_create(
            origin=Origin(user=member, source=Source.WEB, ip_address="127.0.0.1", user_agent="bench"),
            team=team,
            zone=zone,
            name=f"live-{number:02d}",
            purpose="built while the benchmark polls",
            instance_type="t3.medium",
        )
        environment = services.environment_request_approve(
            origin=Origin(user=approver, source=Source.WEB, ip_address="127.0.0.1", user_agent="bench"),
            request_id=request.pk,
            plan_hash=request.plan_hash,
        )
        ids.append(environment.pk)
    return ids


# --- Main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--environments", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=10, help="concurrent clients (default 10)")
    parser.add_argument("--duration", type=int, default=15, help="seconds of the list pass (default 15)")
    parser.add_argument("--builds", type=int, default=10, help="builds polled during the fragment pass (default 10)")
    parser.add_argument("--database", default="wlpanel_bench_web")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13", help="the broker of the build pass's worker")
    parser.add_argument("--keep-database", action="store_true", help="leave the benchmark database behind")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (default 1)")
    args = parser.parse_args()

    began = time.monotonic()
    os.environ["CELERY_BROKER_URL"] = args.redis
    os.environ["WLPANEL_QUEUE"] = f"bench-web-{os.getpid()}"
    server_url = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
    database_url = recreate_database(server_url, args.database)
    setup_django(database_url)
    print(f"database {args.database} created and migrated ({time.monotonic() - began:.0f} s)")

    workdir = Path(tempfile.mkdtemp(prefix="bench-web-"))
    processes: list[subprocess.Popen] = []
    rows: list[dict] = []
    try:
        sandbox, sandbox_url = start_sandbox(workdir)
        processes.append(sandbox)
        teams, members, approvers = people_and_teams()
        zone = seed_zone()
        built = time.monotonic()
        sample = build_sample(
            team=teams[0], zone=zone, requester=members[0], approver=approvers[0], sandbox_url=sandbox_url
        )
        print(f"sample environment built on the sandbox ({time.monotonic() - built:.0f} s)")
        from wlpanel.celery import app

        app.__dict__.pop("send_task", None)  # from here on, builds go to a real worker through the broker
        filled = time.monotonic()
        counts = clone_environments(sample, count=args.environments, teams=teams, members=members, approvers=approvers)

        from audit.models import AuditEvent, AwsCall
        from environments.models import Environment, NetworkView, Resource
        from environments.network_view import network_view_update

        print(
            f"{Environment.objects.count()} environments ({', '.join(f'{n} {s}' for s, n in counts.items())}), "
            f"{Resource.objects.count()} resources ({Resource.objects.exclude(described=None).count()} described), "
            f"{AuditEvent.objects.count()} audit rows, {AwsCall.objects.count()} AWS calls ({time.monotonic() - filled:.0f} s)"
        )
        viewed = time.monotonic()
        environment_ids = list(Environment.objects.order_by("id").values_list("pk", flat=True))
        for environment_id in environment_ids:  # what the worker did as each description landed
            network_view_update(environment_id=environment_id)
        print(f"{NetworkView.objects.count()} network views stored ({time.monotonic() - viewed:.0f} s)")

        from django.db import connection

        with connection.cursor() as cursor:
            # As autovacuum does within a minute of a bulk load (PostgreSQL 13+ vacuums after inserts
            # too): statistics, and the visibility map that lets a count read only an index.
            cursor.execute("VACUUM ANALYZE")
        connection.close()

        detail_paths = [f"/environments/{pk}/" for pk in environment_ids]
        import random

        random.Random(15).shuffle(detail_paths)
        # (a) The detail page of every environment once per mode, each first request cold, on fresh
        # servers: the baseline computes the network view on read (as before it was stored). In the
        # order A B B A over the two halves of the environments, so that a machine whose load drifts
        # (others share it) weighs on both modes alike.
        modes = {
            "detail, cold — baseline: computed on read": {"WLPANEL_NETWORK_VIEW_ON_READ": "1"},
            "detail, cold — stored view": {},
        }
        baseline_label, stored_label = modes
        half = len(detail_paths) // 2
        passes = []
        for label, paths in (
            (baseline_label, detail_paths[:half]),
            (stored_label, detail_paths[:half]),
            (stored_label, detail_paths[half:]),
            (baseline_label, detail_paths[half:]),
        ):
            server, base_url, cookie, meter = serve(database_url, workdir, args, modes[label])
            try:
                passes.append(measure(label, Clients(base_url, cookie), args.clients, drain(paths), meter=meter))
            finally:
                stop_gunicorn(server)
        rows += [combine([p for p in passes if p["kind"] == label]) for label in modes]

        server, base_url, cookie, meter = serve(database_url, workdir, args, {})
        processes.append(server)
        # (b) The list with filters: team, state, zone, search (by name, by Carrier IP) and pages.
        carrier_ip = (sample.resources.get(key="carrier_ip").described or {}).get("CarrierIp", "")
        filters = [
            "", "?team=media", "?state=ready", "?state=destroyed&team=robotics", f"?zone={SFO}",
            "?name=env-04", f"?name={carrier_ip}", "?page=2", "?page=7&state=destroyed", "?team=edge-west&page=3",
            "?sort=-expires", "?state=failed&sort=name",
        ]  # fmt: skip
        rows.append(
            measure(
                "list with filters",
                Clients(base_url, cookie),
                args.clients,
                rotate([f"/environments/{query}" for query in filters]),
                meter=meter,
                seconds=args.duration,
            )
        )
        # (c) The progress fragment during real builds: a worker builds against the sandbox (AWS-like
        # latencies) while each client polls one build, as a page open on it does.
        import requests as http

        http.post(f"{sandbox_url}/_sandbox/latency", json={"preset": "aws"}, timeout=10).raise_for_status()
        # As an account running this many environments has asked AWS: VPCs, internet gateways,
        # Elastic IPs and Carrier IPs per Region (default 5 each) raised for the builds at once.
        for quota_code in ("L-F678F1CE", "L-A4707A72", "L-0263D0A3", "L-CARRIER-IPS"):
            http.post(
                f"{sandbox_url}/_sandbox/quotas", json={"quota_code": quota_code, "value": args.builds + 5}, timeout=10
            ).raise_for_status()
        worker = start_process(
            [sys.executable, "-m", "celery", "-A", "wlpanel", "worker", "-Q", os.environ["WLPANEL_QUEUE"], "-c", "2",
             "-B", "-s", str(workdir / "beat"), "--without-gossip", "--without-mingle", "-l", "warning"],
            workdir / "worker.log",
            {"DATABASE_URL": database_url, "WLPANEL_AWS_ENDPOINT": sandbox_url, "WLPANEL_CHECKS_AUTOMATIC": "0"},
        )  # fmt: skip
        processes.append(worker)
        builds = request_builds(args.builds, teams=teams, members=members, approvers=approvers, zone=zone)
        next_path, answered = poll_builds(builds)
        rows.append(
            measure(
                "progress fragment during builds",
                Clients(base_url, cookie, htmx=True),
                min(args.clients, len(builds)),
                next_path,
                answered,
                meter=meter,
                seconds=600,
            )
        )
        states = sorted(Environment.objects.filter(pk__in=builds).values_list("state", flat=True))
        print(f"  builds polled until each settled: {', '.join(f'{states.count(s)} {s}' for s in sorted(set(states)))}")
        for code, reason in Environment.objects.filter(pk__in=builds, state="failed").values_list("failure_code", "failure_reason")[:3]:
            print(f"    failed: {code}: {reason[:160]}")
        # The floor of this stack: Django's own login page, anonymous, same server, same clients.
        rows.append(
            measure("floor: Django login page", Clients(base_url, ""), args.clients, rotate(["/login/"]), meter=meter, seconds=5)
        )
    finally:
        for process in reversed(processes):
            stop_gunicorn(process)
        from django.db import connections

        connections.close_all()
        if not args.keep_database:
            import psycopg

            with psycopg.connect(f"{server_url}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)

    report(rows, args)
    print(f"total {time.monotonic() - began:.0f} s")


def serve(database_url: str, workdir: Path, args, extra_env: dict):
    """A fresh gunicorn (nothing of a page cached), a session on it, and its CPU meter. Pointed at
    the sandbox as the worker is (pages never call it; its URL is in the links pages render)."""
    from django.conf import settings

    extra_env = {"WLPANEL_AWS_ENDPOINT": settings.WLPANEL_AWS_ENDPOINT, **extra_env}
    port = free_port()
    server = start_gunicorn(
        database_url, port, workdir / "gunicorn.log", workers=args.workers, threads=args.threads, extra_env=extra_env
    )
    base_url = f"http://127.0.0.1:{port}"
    return server, base_url, session_cookie(base_url), CpuMeter(server.pid, args.database)


def report(rows: list[dict], args) -> None:
    print()
    print(f"{args.clients} closed-loop clients, gunicorn {args.workers} workers x {args.threads} threads, fresh before each detail pass")
    header = (
        f"{'kind':<44} {'requests':>8} {'req/s':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6} "
        f"{'gunicorn ms/req':>15} {'postgres ms/req':>15} {'client CPU':>10} {'machine':>7} {'p95 ×base':>9}"
    )
    print(header)
    print("-" * len(header))
    baseline = next(row for row in rows if "baseline" in row["kind"])
    for row in rows:
        ratio = "—" if row is baseline or not row["kind"].startswith("detail") else f"{row['p95'] / baseline['p95']:.2f}×"
        print(
            f"{row['kind']:<44} {row['requests']:>8} {row['rps']:>6.1f} {row['p50']:>7.1f} {row['p95']:>7.1f} "
            f"{row['p99']:>7.1f} {row['errors']:>6} {row['server_ms']:>15.1f} {row['database_ms']:>15.1f} "
            f"{row['client_cpu']:>10.0%} {row['machine_cpu']:>7.0%} {ratio:>9}"
        )
    print()
    print("CPU shares are of one core; ms/req: CPU of gunicorn (master + workers) and of the PostgreSQL")
    print("backends of the benchmark database per request, from /proc. ×base: p95 over the same run's")
    print("baseline (the detail page computing its network view on read).")
    verdicts = ", ".join(f"{row['kind']} {'meets' if row['p95'] < 100 else 'misses'}" for row in rows if not row["kind"].startswith("floor") and "baseline" not in row["kind"])
    print(f"target p95 < 100 ms at {args.clients} clients: {verdicts}")


if __name__ == "__main__":
    main()
