"""`make run` on a machine with only Python: the embedded stand-ins of docs/api.md, end to end.

The machine's PostgreSQL and Redis must never be stopped, so run.py runs in a fresh network
namespace (`unshare --net`) where nothing listens on loopback: settings fall back to SQLite (WAL)
and the filesystem broker under WLPANEL_VAR_DIR. Everything that talks to the panel runs inside
that namespace through `nsenter`: manage.py commands, and fallback_client.py, which walks the
request → approval → build → destroy scenario over HTTP and prints what it saw as JSON.
"""

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import pytest

from tests.conftest import ROOT
from tests.e2e.test_make_run import PASSWORD, descendants, free_port, interrupt, left_behind

PYTHON = sys.executable
# In the new namespace only `lo` exists, and it starts down.
IN_NEW_NETWORK = ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']
STAND_INS_NAMED = (
    "PostgreSQL not configured and not answering: using the embedded stand-in, SQLite (WAL)",
    "Redis not configured and not answering: using the embedded stand-in broker (filesystem)",
)


def require_namespaces() -> None:
    missing = [tool for tool in ("unshare", "nsenter", "ip") if shutil.which(tool) is None]
    if missing:
        pytest.fail(
            f"this test needs {', '.join(missing)} (util-linux, iproute2) to run the panel in its own network namespace"
        )
    probe = subprocess.run([*IN_NEW_NETWORK, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.fail(f"`unshare --net` failed (it needs root or CAP_SYS_ADMIN): {probe.stderr.strip()}")


def test_make_run_without_postgresql_or_redis_builds_and_destroys_on_the_stand_ins(tmp_path):
    require_namespaces()
    port = free_port()
    var = tmp_path / "var"
    env = {
        **os.environ,
        "WLPANEL_VAR_DIR": str(var),
        "PORT": str(port),
        "WLPANEL_DEMO_PASSWORD": PASSWORD,
        "WLPANEL_SANDBOX_PENDING_SECONDS": "1",
        "WLPANEL_SANDBOX_OPT_IN_SECONDS": "1",  # the demo setup still waits for each opt-in
        "WLPANEL_POLL_SECONDS": "0.5",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "WLPANEL_AWS_ENDPOINT", "WLPANEL_QUEUE"):
        env.pop(name, None)
    log_path = tmp_path / "run.log"
    log = open(log_path, "wb")  # noqa: SIM115
    run = subprocess.Popen(
        [*IN_NEW_NETWORK, PYTHON, "scripts/run.py"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def in_namespace(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        command = ["nsenter", f"--net=/proc/{run.pid}/ns/net", "--", *args]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)

    children: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        while "[make run] panel on" not in log_path.read_text():
            assert run.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "run.py never started the web server"
            time.sleep(0.3)
        output = log_path.read_text()
        for line in STAND_INS_NAMED:
            assert line in output
        sandbox = re.search(r"sandbox ready at (\S+)", output).group(1)

        def issue_token(user: str) -> str:
            issued = in_namespace(PYTHON, "manage.py", "issue_token", user)
            assert issued.returncode == 0, issued.stderr
            return issued.stdout.strip().splitlines()[-1]

        with ThreadPoolExecutor() as pool:  # two Django start-ups at once
            alice_token, bob_token = pool.map(issue_token, ("alice", "bob"))
        client = in_namespace(
            PYTHON,
            "tests/e2e/fallback_client.py",
            f"http://127.0.0.1:{port}",
            sandbox,
            PASSWORD,
            alice_token,
            bob_token,
            timeout=300,
        )
        assert client.returncode == 0, client.stderr[-3000:]
        seen = json.loads(client.stdout)

        verify = in_namespace(PYTHON, "manage.py", "audit_verify")
        assert verify.returncode == 0, verify.stdout + verify.stderr
        children = descendants(run.pid)
        assert len(children) >= 4  # sandbox, worker (+ pool), beat, web (+ workers)
    finally:
        interrupt(run, log)
    alive = left_behind(children)
    assert not alive, f"processes left behind: {alive}"

    assert seen["health"]["database"] == {"ok": True, "vendor": "sqlite"}
    assert seen["health"]["broker"] == {"ok": True, "transport": "filesystem"}
    assert seen["logged_in_as"] == "alice"
    assert (seen["request_status"], seen["approve_status"], seen["destroy_status"]) == (201, 200, 202)
    assert seen["build"]["states"][-1] == "ready", seen["build"]
    assert set(seen["build"]["steps"].values()) == {"ready"}
    assert seen["detail_page_status"] == 200 and seen["traffic_rows"] > 0
    assert {item["type"] for item in seen["inventory_when_ready"]} >= {
        "vpc",
        "carrier-gateway",
        "instance",
        "elastic-ip",
    }
    assert seen["teardown"]["states"][-1] == "destroyed", seen["teardown"]
    assert seen["inventory_after_destroy"] == [], "the teardown leaves nothing behind"
    # Step claims held across the worker's processes: every create ran exactly once.
    calls = seen["sandbox_calls"]
    assert [
        calls.get(a) for a in ("CreateVpc", "CreateCarrierGateway", "RunInstances", "AllocateAddress")
    ] == [1, 1, 2, 1]

    output = log_path.read_text()
    assert "database is locked" not in output
    # run.py stops the worker, which stops its pool: killing the pool under it hangs the worker's exit.
    assert "exited with 'signal 15 (SIGTERM)'" not in output
    processes = set(
        re.findall(r"ForkPoolWorker-(\d+)\] Task environments\.run_step\[\S+\] succeeded", output)
    )
    assert len(processes) >= 2, "the steps ran in several worker processes"

    with closing(sqlite3.connect(var / "wlpanel.sqlite3")) as database:
        journal_mode = database.execute("PRAGMA journal_mode").fetchone()[0]
        rows = database.execute("SELECT action, source FROM audit_auditevent ORDER BY id").fetchall()
    assert journal_mode == "wal"
    milestones = [row for row in rows if row[0].startswith(("request.", "environment."))]
    assert milestones == [
        ("request.created", "api"),
        ("request.approved", "api"),
        ("environment.created", "api"),
        ("environment.ready", "worker"),
        ("environment.destroy_requested", "api"),
        ("environment.destroyed", "worker"),
    ]
    assert ("user.logged_in", "web") in rows
