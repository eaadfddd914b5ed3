"""Audit review at a million rows: page latency, free text, a year back, export throughput.

    .venv/bin/python bench/audit.py [--rows 1000000] [--requests 40]

Uses its own database (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
wlpanel_bench_audit), creates it on the first run and fills it with a valid hash chain spread over
two years (hashes computed in Python while streaming rows into COPY); later runs reuse it. Pages
are measured in-process through Django's test client (the full middleware stack and templates,
no network), alongside the read-only Django admin changelist on the same table as the baseline.
Prints numbers; asserts nothing.
"""

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode, urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/wlpanel_bench_audit"
TEAMS = [f"team-{n:02d}" for n in range(8)]
ACTORS = [f"user-{n:02d}" for n in range(40)]  # user-NN is in TEAMS[NN % 8]
ACTIONS = [  # (action, weight, carries before/after)
    ("environment.step_done", 30, False),
    ("aws.mutating_call", 20, False),
    ("request.created", 8, False),
    ("request.approved", 6, True),
    ("request.rejected", 1, True),
    ("request.cancelled", 1, True),
    ("environment.provision_started", 6, False),
    ("environment.ready", 5, True),
    ("environment.failed", 1, True),
    ("environment.extended", 3, True),
    ("environment.destroy_requested", 4, False),
    ("environment.destroyed", 4, True),
    ("user.logged_in", 7, False),
    ("user.logged_out", 2, False),
    ("user.login_failed", 1, False),
    ("audit.exported", 0.2, False),
]
CITIES = ["sfo", "lax", "las", "den", "phx", "sea", "dfw", "atl", "bos", "nyc", "mia", "chi"]
INSTANCE_TYPES = ["t3.medium", "t3.xlarge", "r5.2xlarge", "g4dn.2xlarge"]
OPERATIONS = ["CreateVpc", "CreateSubnet", "RunInstances", "CreateCarrierGateway", "AllocateAddress", "CreateRoute"]


def database_ready(url: str) -> None:
    """Create the benchmark database if it is missing (connecting to the server's `postgres` db)."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}")


def django_setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wlpanel.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()


# --- Data ------------------------------------------------------------------------------------------


def generated_rows(count: int, *, seed: int = 7):
    """(column values...) for `count` rows over the last two years, oldest first, chained."""
    from audit.services import GENESIS_HASH, event_hash

    rng = random.Random(seed)
    actions = [a for a, _, _ in ACTIONS]
    weights = [w for _, w, _ in ACTIONS]
    with_state = {a for a, _, s in ACTIONS if s}
    end = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)
    start = end - dt.timedelta(days=730)
    step = (end - start) / count
    prev_hash = GENESIS_HASH
    picked = rng.choices(actions, weights=weights, k=count)
    for n in range(count):
        action = picked[n]
        created_at = start + step * n + dt.timedelta(microseconds=rng.randrange(0, int(step.total_seconds() * 1e6)))
        actor_n = rng.randrange(len(ACTORS))
        team = TEAMS[actor_n % len(TEAMS)]
        environment_id = rng.randrange(1, 20_000)
        city = CITIES[environment_id % len(CITIES)]
        target_repr = f"edge-{city}-{environment_id}"
        before = after = None
        details: dict = {}
        if action.startswith("user."):
            team, environment_id = "", None
            target_type, target_id, target_repr = "accounts.user", str(actor_n + 1), ACTORS[actor_n]
            if action == "user.login_failed":
                details = {"username": ACTORS[actor_n]}
        elif action == "audit.exported":
            team, environment_id, target_type, target_id, target_repr = "", None, "", "", ""
            details = {"format": "csv", "filter": {"team": rng.choice(TEAMS)}}
        elif action.startswith("request."):
            target_type, target_id = "environments.environmentrequest", str(environment_id)
            details = {"zone": f"us-west-2-wl1-{city}-wlz-1", "instance_type": rng.choice(INSTANCE_TYPES)}
            if action in with_state:
                before, after = {"state": "pending"}, {"state": action.split(".")[1], "comment": "per ticket"}
        else:
            target_type, target_id = "environments.environment", str(environment_id)
            if action == "aws.mutating_call":
                details = {"operation": rng.choice(OPERATIONS), "request_id": f"{rng.getrandbits(64):016x}"}
            elif action == "environment.step_done":
                details = {"step": rng.choice(["vpc", "subnet", "cagw", "instance", "carrier_ip"])}
            if action in with_state:
                before, after = {"state": "provisioning", "ttl_hours": 72}, {"state": "ready", "ttl_hours": 96}
        actor = "" if action == "environment.step_done" else ACTORS[actor_n]
        fields = {
            "created_at": created_at,
            "actor_id": (actor_n + 1) if actor else None,
            "actor_username": actor,
            "source": "worker" if not actor else rng.choice(["web", "web", "web", "api"]),
            "action": action,
            "target_type": target_type,
            "target_id": target_id,
            "target_repr": target_repr,
            "team_slug": team,
            "environment_id": environment_id,
            "before": before,
            "after": after,
            "details": details,
            "ip_address": f"10.{actor_n}.0.{rng.randrange(1, 255)}" if actor else None,
            "user_agent": "Mozilla/5.0" if actor else "",
            "correlation_id": f"{rng.getrandbits(128):032x}",
        }
        row_hash = event_hash(fields, prev_hash)
        yield n + 1, fields, prev_hash, row_hash
        prev_hash = row_hash


def populate(count: int) -> None:
    import json

    from django.db import connection

    from audit.services import HASHED_FIELDS

    started = time.monotonic()
    with connection.cursor() as cursor:
        # The bench's own scratch database: lift the TRUNCATE guard (migration 0006) for this statement.
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_no_truncate")
        cursor.execute("TRUNCATE audit_auditevent")
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_auditevent_no_truncate")
        # Build secondary indexes once at the end: far faster than maintaining them per row.
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit_auditevent' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'audit_auditevent'::regclass)"
        )
        indexes = cursor.fetchall()
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        columns = ("id", *HASHED_FIELDS, "prev_hash", "hash", "chain_scheme")
        json_columns = {"before", "after", "details"}
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        with raw.copy(f"COPY audit_auditevent ({', '.join(columns)}) FROM STDIN") as copy:
            for row_id, fields, prev_hash, row_hash in generated_rows(count):
                values = [
                    (json.dumps(fields[name]) if fields[name] is not None else None) if name in json_columns else fields[name]
                    for name in HASHED_FIELDS
                ]
                copy.write_row((row_id, *values, prev_hash, row_hash, 2))  # keyed (event_hash's default)
                if row_id % 200_000 == 0:
                    print(f"  {row_id:,} rows written ({time.monotonic() - started:.0f}s)", flush=True)
        copied = time.monotonic()
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("SELECT setval(pg_get_serial_sequence('audit_auditevent', 'id'), %s)", [count])
        cursor.execute("ANALYZE audit_auditevent")
    print(
        f"generated {count:,} chained rows: COPY with hashing {copied - started:.1f}s "
        f"({count / (copied - started):,.0f} rows/s), indexes {time.monotonic() - copied:.1f}s"
    )


def people():
    from accounts.choices import GlobalRole, TeamRole
    from accounts.models import Team, User

    teams = {slug: Team.objects.get_or_create(slug=slug, defaults={"name": slug})[0] for slug in TEAMS}
    auditor, _ = User.objects.get_or_create(username="bench-auditor", defaults={"global_role": GlobalRole.AUDITOR})
    admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"is_superuser": True, "is_staff": True})
    member, created = User.objects.get_or_create(username="bench-member")
    if created:
        teams["team-03"].memberships.create(user=member, role=TeamRole.MEMBER)
    return auditor, admin, member


# --- Measurements ------------------------------------------------------------------------------------


def logged_in_client(user):
    from unittest import mock

    from django.test import Client

    client = Client()
    with mock.patch("accounts.receivers.record"):  # the bench's logins need not grow the log
        client.force_login(user)
    return client


def timed(client, path: str, params: dict | None = None) -> float:
    url = path + ("?" + urlencode(params) if params else "")
    started = time.perf_counter()
    response = client.get(url)
    if response.streaming:
        for _ in response.streaming_content:
            pass
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"{url}: HTTP {response.status_code}")
    return elapsed * 1000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def measure(name: str, client, path, params_for, requests: int, results: list) -> None:
    """`path` is a string, or a function of the request number (like `params_for`)."""
    path_for = path if callable(path) else (lambda n: path)
    for n in range(3):  # warm up: connection, template cache, plan cache
        timed(client, path_for(n), params_for(n))
    samples = [timed(client, path_for(n), params_for(n)) for n in range(requests)]
    results.append((name, statistics.median(samples), percentile(samples, 0.95), max(samples)))


def export_throughput(client, export_format: str, params: dict) -> tuple[int, float, int]:
    started = time.perf_counter()
    response = client.get("/audit/export?" + urlencode({"format": export_format, **params}))
    rows = size = 0
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
        size += len(chunk)
    elapsed = time.perf_counter() - started
    if export_format == "csv":
        rows -= 1  # the header
    return rows, elapsed, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40, help="Measured requests per scenario.")
    parser.add_argument("--skip-verify", action="store_true", help="Do not time audit_verify.")
    args = parser.parse_args()

    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    database_ready(url)
    django_setup(url)
    from django.core.management import call_command
    from django.db import connection

    from audit.models import AuditEvent
    from audit.services import audit_chain_verify

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM audit_auditevent WHERE id <= %s", [args.rows])
        present = cursor.fetchone()[0]
    if present < args.rows:
        print(f"populating {args.rows:,} rows (found {present:,})...", flush=True)
        populate(args.rows)
    else:
        print(f"reusing {present:,} generated rows in {urlparse(url).path.lstrip('/')}")

    auditor, admin, member = people()
    auditor_client, admin_client, member_client = (logged_in_client(u) for u in (auditor, admin, member))
    rng = random.Random(11)
    first_day = AuditEvent.objects.order_by("id").values_list("created_at", flat=True).first().date()
    year_back = dt.date.today() - dt.timedelta(days=365)
    rare_targets = [f"edge-{CITIES[e % len(CITIES)]}-{e}" for e in rng.sample(range(1, 20_000), 200)]
    n = args.requests

    results: list[tuple[str, float, float, float]] = []
    load = os.getloadavg()
    print(f"\nmeasuring {n} requests per scenario (+3 warm-up), Django test client, in-process; "
          f"load average {load[0]:.1f} {load[1]:.1f} on {os.cpu_count()} CPUs\n", flush=True)
    measure("review: newest page, no filter", auditor_client, "/audit/", lambda i: None, n, results)
    measure("review: team + action", auditor_client, "/audit/",
            lambda i: {"team": TEAMS[i % 8], "action": "environment.ready"}, n, results)
    measure("review: actor", auditor_client, "/audit/", lambda i: {"actor": ACTORS[i % 40]}, n, results)
    measure("review: environment", auditor_client, "/audit/", lambda i: {"environment": rng.randrange(1, 20_000)}, n, results)
    measure("review: action prefix + source + month", auditor_client, "/audit/",
            lambda i: {"action": "request.*", "source": "api", "since": str(first_day + dt.timedelta(days=30 * (i % 23))),
                       "until": str(first_day + dt.timedelta(days=30 * (i % 23) + 29))}, n, results)
    measure("review: free text, rare (target name)", auditor_client, "/audit/", lambda i: {"q": rare_targets[i]}, n, results)
    measure("review: free text, common (t3.xlarge)", auditor_client, "/audit/", lambda i: {"q": "t3.xlarge"}, n, results)
    measure("review: free text + team", auditor_client, "/audit/",
            lambda i: {"q": "carrier_ip", "team": TEAMS[i % 8]}, n, results)
    measure("review: jump to a date a year back", auditor_client, "/audit/",
            lambda i: {"date": str(year_back - dt.timedelta(days=i))}, n, results)
    year_back_page = AuditEvent.objects.filter(created_at__date__lte=year_back).order_by("-created_at").values_list(
        "id", flat=True).first()
    measure("review: older page, a year back", auditor_client, "/audit/",
            lambda i: {"before": year_back_page - 50 * i}, n, results)
    measure("review: member (team-scoped), newest", member_client, "/audit/", lambda i: None, n, results)
    measure("review: row detail", auditor_client, lambda i: f"/audit/{rng.randrange(1, args.rows)}/", lambda i: None,
            n, results)
    measure("api: /api/audit/events?team= (capped count)", auditor_client, "/api/audit/events",
            lambda i: {"team": TEAMS[i % 8]}, n, results)
    measure("baseline: admin changelist", admin_client, "/admin/audit/auditevent/", lambda i: None, n, results)
    measure("baseline: admin changelist, source filter", admin_client, "/admin/audit/auditevent/",
            lambda i: {"source__exact": "api"}, n, results)
    measure("baseline: admin changelist, search", admin_client, "/admin/audit/auditevent/",
            lambda i: {"q": rare_targets[i]}, max(5, n // 4), results)

    width = max(len(name) for name, *_ in results)
    print(f"{'scenario':<{width}}  {'median ms':>9}  {'p95 ms':>8}  {'max ms':>8}")
    for name, median, p95, worst in results:
        print(f"{name:<{width}}  {median:>9.1f}  {p95:>8.1f}  {worst:>8.1f}")

    print("\nexport throughput (streamed through the test client, consumed in full)")
    for export_format in ("csv", "jsonl"):
        for label, params in (("all rows", {}), ("one team", {"team": "team-05"})):
            rows, seconds, size = export_throughput(auditor_client, export_format, params)
            print(f"  {export_format:<5} {label:<9} {rows:>9,} rows  {seconds:6.1f}s  {rows / seconds:>9,.0f} rows/s"
                  f"  {size / seconds / 1e6:6.1f} MB/s")

    load = os.getloadavg()
    print(f"load average at the end {load[0]:.1f} {load[1]:.1f}")

    if not args.skip_verify:
        started = time.monotonic()
        checked, broken = audit_chain_verify(batch_size=10_000)
        seconds = time.monotonic() - started
        print(f"\naudit_verify: {checked:,} rows in {seconds:.1f}s ({checked / seconds:,.0f} rows/s), "
              f"{'intact' if broken is None else f'BROKEN at #{broken.event_id}'}")


if __name__ == "__main__":
    main()
