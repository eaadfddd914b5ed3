"""Web benchmark: latency and throughput of the pages people keep open, under gunicorn.

    .venv/bin/python bench/web.py [--duration 12] [--environments 1000] [--database wlpanel_bench_web]

What it does, in order:

1. (Re)creates the PostgreSQL database `--database` on the server of `BENCH_POSTGRES_URL`
   (default postgres://postgres@127.0.0.1:5432) and migrates it.
2. Builds one environment for real — the request and approval through the services, then the
   engine's own `advance`/`run_step` run in this process against an embedded sandbox — so the
   Describe* items stored on its resources are what AWS-shaped answers really look like.
3. Clones it into `--environments` environments across four teams (ready ones with every resource
   described, provisioning and failed ones half described, destroyed ones with deleted resources),
   each with its request and its Resource rows.
4. Starts `gunicorn wlpanel.wsgi --workers 4 --threads 1` (gunicorn.conf.py's choice on 2 cores;
   `--workers/--threads` to compare others) on a free loopback port, logs in once
   (a session cookie of `bench`, an approver of every team: it sees all environments).
5. Runs wrk (closed loop, one Lua script adding the Cookie and, for the fragment, `HX-Request`)
   against a baseline (Django's login page, anonymous), the environments list, an environment's
   detail page and the htmx progress fragment of a provisioning environment (polled as htmx does:
   each answer names the next URL), at 1, 10 and 50 concurrent connections, and prints p50/p95/p99,
   requests/s, errors, and the CPU share of the load generator and of gunicorn (both measured:
   wrk through wait4's rusage, gunicorn from /proc/<pid>/stat), since all share the same cores.

It prints numbers; it asserts nothing about timings. The target is p95 < 100 ms at 10 clients.
"""

import argparse
import heapq
import itertools
import json
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
CONCURRENCY = (1, 10, 50)
BASELINE = "baseline: Django login page"
TEAMS = ("edge-east", "edge-west", "media", "robotics")
SFO = "us-west-2-wl1-sfo-wlz-1"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

LUA = r"""
-- Headers from the environment: the session cookie, and HX-Request for the htmx fragment.
local cookie = os.getenv("BENCH_COOKIE")
if cookie ~= nil and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end
if os.getenv("BENCH_HTMX") == "1" then
  wrk.headers["HX-Request"] = "true"
  wrk.headers["HX-Current-URL"] = os.getenv("BENCH_CURRENT_URL")
  -- As htmx does: each answer re-renders the polling element, whose hx-get the next poll uses.
  local path = nil
  request = function()
    return wrk.format(nil, path)
  end
  response = function(status, headers, body)
    local next_path = body:match('id="environment%-live" hx%-get="([^"]+)"')
    if next_path then
      path = next_path:gsub("&amp;", "&")
    end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, ' ..
    '"max_us": %d, "socket_errors": %d, "status_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect + e.read + e.write + e.timeout, e.status))
end
"""


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
                ready_at=now if shape == "ready" else None,
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
    counts: dict[str, int] = {}
    for shape in ["ready", *shapes]:
        counts[shape] = counts.get(shape, 0) + 1
    return counts


# --- gunicorn, a session, wrk --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(database_url: str, port: int, log_path: Path, *, workers: int, threads: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "WLPANEL_AWS_ENDPOINT": "http://127.0.0.1:9",  # pages never call AWS; nothing should answer
        "LOG_LEVEL": "WARNING",
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


def check_page(base_url: str, path: str, cookie: str, *, htmx: bool, expect: str) -> int:
    """One request as the benchmark will make it: 200, logged in, the content expected."""
    import requests

    headers = {"Cookie": cookie, **({"HX-Request": "true"} if htmx else {})}
    answer = requests.get(f"{base_url}{path}", headers=headers, timeout=30, allow_redirects=False)
    if answer.status_code != 200 or expect not in answer.text:
        raise SystemExit(f"GET {path}: {answer.status_code}, {expect!r} not in the page")
    return len(answer.content)


def polled_path(base_url: str, page: str, cookie: str) -> str:
    """The URL the page's htmx polls, as it polls it (with `seen`: the description the page shows)."""
    import html
    import re

    import requests

    answer = requests.get(f"{base_url}{page}", headers={"Cookie": cookie}, timeout=30, allow_redirects=False)
    found = re.search(r'id="environment-live" hx-get="([^"]+)"', answer.text)
    if answer.status_code != 200 or not found:
        raise SystemExit(f"GET {page}: {answer.status_code}, no polling element in the page")
    return html.unescape(found.group(1))


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


def run_wrk(url: str, *, connections: int, seconds: float, script: Path, env: dict, meter: CpuMeter) -> dict:
    threads = min(connections, 2)
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    before = meter.read()
    started = time.monotonic()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, **env}
    )
    output = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    after = meter.read()
    line = next((line for line in output.splitlines() if line.startswith("BENCH ")), None)
    if process.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({process.returncode}):\n{output}")
    result = json.loads(line[len("BENCH ") :])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["wrk_cpu"] = (usage.ru_utime + usage.ru_stime) / wall
    spent = meter.spent(before, after)
    for name, seconds in spent.items():
        result[f"{name}_cpu"] = seconds / wall
    result["server_ms_per_request"] = 1000 * spent["server"] / max(result["requests"], 1)
    result["command"] = " ".join(command)
    return result


# --- Main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=12, help="seconds per measurement (default 12)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per page (default 2)")
    parser.add_argument("--environments", type=int, default=1000)
    parser.add_argument("--database", default="wlpanel_bench_web")
    parser.add_argument("--keep-database", action="store_true", help="leave the benchmark database behind")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (default 1)")
    parser.add_argument(
        "--clients", default=",".join(map(str, CONCURRENCY)), help="concurrent clients to measure (default 1,10,50)"
    )
    parser.add_argument("--pages", default="list,detail,fragment", help="which pages (default list,detail,fragment)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")

    began = time.monotonic()
    server_url = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
    database_url = recreate_database(server_url, args.database)
    setup_django(database_url)
    print(
        f"database {urlparse(database_url).path[1:]} created and migrated ({time.monotonic() - began:.0f} s)"
    )

    from sandbox import server as sandbox_server

    teams, members, approvers = people_and_teams()
    zone = seed_zone()
    sandbox = sandbox_server.start(host="127.0.0.1", port=0, pending_seconds=0)
    try:
        built = time.monotonic()
        sample = build_sample(
            team=teams[0], zone=zone, requester=members[0], approver=approvers[0], sandbox_url=sandbox.url
        )
    finally:
        sandbox.stop()
    print(f"sample environment built on the sandbox ({time.monotonic() - built:.0f} s)")
    filled = time.monotonic()
    counts = clone_environments(
        sample, count=args.environments, teams=teams, members=members, approvers=approvers
    )

    from django.db import connection

    from environments.models import Environment, Resource

    provisioning = Environment.objects.filter(state="provisioning").order_by("id").first()
    print(
        f"{Environment.objects.count()} environments ({', '.join(f'{n} {s}' for s, n in counts.items())}), "
        f"{Resource.objects.count()} resources, {Resource.objects.exclude(described=None).count()} described, "
        f"across {len(teams)} teams ({time.monotonic() - filled:.0f} s)"
    )
    with connection.cursor() as cursor:
        # As autovacuum would shortly after a bulk load: without statistics the planner joins every row.
        cursor.execute("ANALYZE")
    connection.close()

    workdir = Path(tempfile.mkdtemp(prefix="bench-web-"))
    script = workdir / "bench.lua"
    script.write_text(LUA)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    gunicorn = start_gunicorn(
        database_url, port, workdir / "gunicorn.log", workers=args.workers, threads=args.threads
    )
    results = []
    try:
        cookie = session_cookie(base_url)
        meter = CpuMeter(gunicorn.pid, args.database)
        pages = [
            (
                "environments list",
                "/environments/",
                False,
                "env-0999" if args.environments >= 1000 else "env-",
            ),
            ("environment detail (ready)", f"/environments/{sample.pk}/", False, "cagw-"),
            (
                "progress fragment (htmx)",
                # Asked when its turn comes: `seen` moves with the minute.
                lambda: polled_path(base_url, f"/environments/{provisioning.pk}/", cookie),
                True,
                'id="environment-live"',
            ),
        ]
        current = {  # the page an htmx request comes from (HX-Current-URL)
            "progress fragment (htmx)": f"{base_url}/environments/{provisioning.pk}/",
        }
        wanted = set(args.pages.split(","))
        pages = [page for page, key in zip(pages, ("list", "detail", "fragment"), strict=True) if key in wanted]
        # The baseline, measured in the same run: Django's own LoginView for an anonymous visitor (one
        # form, no query), i.e. what any page of this stack costs before doing anything of its own.
        pages.insert(0, (BASELINE, "/login/", False, 'name="username"'))
        print(
            f"gunicorn on {base_url} ({args.workers} workers x {args.threads} threads); "
            "logged in as bench (approver of every team)"
        )
        print(f"load average before: {os.getloadavg()[0]:.2f}, cores: {os.cpu_count()}")
        for label, path, htmx, expect in pages:
            path = path() if callable(path) else path
            page_cookie = "" if label == BASELINE else cookie
            size = check_page(base_url, path, page_cookie, htmx=htmx, expect=expect)
            env = {
                "BENCH_COOKIE": page_cookie,
                "BENCH_HTMX": "1" if htmx else "0",
                "BENCH_CURRENT_URL": current.get(label, ""),
            }
            run_wrk(
                base_url + path,
                connections=2,
                seconds=args.warmup,
                script=script,
                env=env,
                meter=meter,
            )
            for clients in (int(n) for n in args.clients.split(",")):
                result = run_wrk(
                    base_url + path,
                    connections=clients,
                    seconds=args.duration,
                    script=script,
                    env=env,
                    meter=meter,
                )
                results.append({"page": label, "path": path, "bytes": size, "clients": clients, **result})
                print(
                    f"  {label:<28} {clients:>3} clients: {result['rps']:7.1f} req/s, "
                    f"p50 {result['p50_us'] / 1000:6.1f} ms, p95 {result['p95_us'] / 1000:6.1f} ms",
                    flush=True,
                )
    finally:
        stop_gunicorn(gunicorn)
        if not args.keep_database:
            from django.db import connections

            connections.close_all()
            import psycopg

            with psycopg.connect(f"{server_url}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(
        f"wrk -t<min(clients, 2)> -c<clients> -d{args.duration:g}s --timeout 10s -s bench.lua <url>  (closed loop)"
    )
    header = (
        f"{'page':<28} {'bytes':>6} {'clients':>7} {'req/s':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
        f"{'errors':>6} {'wrk CPU':>7} {'gunicorn':>8} {'ms/req':>6} {'postgres':>8} {'machine':>7} "
        f"{'p95 ×base':>9} {'CPU ×base':>9}"
    )
    baseline = {r["clients"]: r for r in results if r["page"] == BASELINE}
    print(header)
    print("-" * len(header))
    for r in results:
        errors = r["socket_errors"] + r["status_errors"]
        print(
            f"{r['page']:<28} {r['bytes']:>6} {r['clients']:>7} {r['rps']:>6.1f} {r['p50_us'] / 1000:>7.1f} "
            f"{r['p95_us'] / 1000:>7.1f} {r['p99_us'] / 1000:>7.1f} {errors:>6} {r['wrk_cpu']:>7.0%} "
            f"{r['server_cpu']:>8.0%} {r['server_ms_per_request']:>6.1f} {r['database_cpu']:>8.0%} "
            f"{r['machine_cpu']:>7.0%} {_ratio(r, baseline, 'p95_us'):>9} "
            f"{_ratio(r, baseline, 'server_ms_per_request'):>9}"
        )
    print()
    cores = os.cpu_count()
    print(f"CPU shares are of one core ({cores} cores = {100 * cores} %): wrk from wait4's rusage; gunicorn")
    print("(master + workers), the PostgreSQL backends of the benchmark database and the whole machine's")
    print("busy time from /proc. ms/req: gunicorn CPU per request. What the machine spent beyond wrk,")
    print("gunicorn and postgres went to other jobs sharing it.")
    print("×base: the page's p95 and gunicorn CPU per request over the baseline's, at the same clients.")
    at_ten = [r for r in results if r["clients"] == 10 and r["page"] != BASELINE]
    verdicts = ", ".join(f"{r['page']} {'meets' if r['p95_us'] < 100_000 else 'misses'}" for r in at_ten)
    print(f"target p95 < 100 ms at 10 clients: {verdicts}")
    print(f"total {time.monotonic() - began:.0f} s")


def _ratio(result: dict, baseline: dict, key: str) -> str:
    base = baseline.get(result["clients"])
    if not base or result is base or not base[key]:
        return "—"
    return f"{result[key] / base[key]:.1f}×"


if __name__ == "__main__":
    main()
