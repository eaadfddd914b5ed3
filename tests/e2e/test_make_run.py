"""`make run` end to end: a fresh database to a running panel, login, audit trail, clean stop."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import psycopg
import pytest
import requests

from tests.conftest import ROOT

DATABASE = f"wlpanel_e2e_run_{os.getpid()}"  # two runs at once on one server do not collide
PASSWORD = "e2e-demo-password-123"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def fresh_database():
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    yield f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def descendants(pid: int) -> set[int]:
    result = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,pgid="], capture_output=True, text=True, check=True)
    rows = [tuple(map(int, line.split())) for line in result.stdout.splitlines() if line.strip()]
    found, frontier = set(), {pid}
    while frontier:
        children = {child for child, parent, _ in rows if parent in frontier} - found
        found |= children
        frontier = children
    return found


def interrupt(run: subprocess.Popen, log) -> None:
    """Ctrl-C, as a person stops `make run`."""
    run.send_signal(signal.SIGINT)
    run.wait(timeout=60)
    log.close()


def _alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for its parent (or init) to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def left_behind(children: set[int], *, grace: float = 15) -> list[int]:
    """The children still running once they have had `grace` seconds to finish exiting (a loaded
    machine takes a while to tear down a pool of workers)."""
    deadline = time.monotonic() + grace
    while True:
        alive = [pid for pid in children if _alive(pid)]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


def test_make_run_serves_the_panel_and_stops_every_child(fresh_database, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": fresh_database,
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/11",
        "WLPANEL_QUEUE": f"e2e-{port}",
        "PORT": str(port),
        "WLPANEL_DEMO_PASSWORD": PASSWORD,
        # The demo setup still waits for AWS to report each opt-in (two accounts): 1 s, not 5 s.
        "WLPANEL_SANDBOX_OPT_IN_SECONDS": "1",
    }
    env.pop("WLPANEL_AWS_ENDPOINT", None)
    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115
    run = subprocess.Popen([sys.executable, "scripts/run.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 180
        while True:
            assert run.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            try:
                if requests.get(f"{base}/login/", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or still starting
                pass
            assert time.monotonic() < deadline, "the panel never answered"
            time.sleep(0.5)

        health = requests.get(f"{base}/healthz", timeout=5)
        assert health.status_code == 200 and health.json()["database"]["vendor"] == "postgresql"

        browser = requests.Session()
        page = browser.get(f"{base}/login/", timeout=5)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        browser.post(f"{base}/login/", data={"username": "alice", "password": "wrong", "csrfmiddlewaretoken": token},
                     headers={"Referer": f"{base}/login/"}, timeout=10)
        page = browser.get(f"{base}/login/", timeout=5)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        home = browser.post(f"{base}/login/", data={"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token},
                            headers={"Referer": f"{base}/login/"}, timeout=10)
        assert 'data-testid="logged-in-as">alice<' in home.text

        with psycopg.connect(fresh_database.replace("postgres://", "postgresql://")) as conn:
            actions = [row[0] for row in conn.execute("SELECT action FROM audit_auditevent ORDER BY id")]
            zones = conn.execute("SELECT count(*) FROM environments_zone WHERE opt_in_status = 'opted-in'").fetchone()[0]
            demo_account_zones = conn.execute(
                "SELECT count(*) FROM environments_zone z JOIN clouds_awsaccount a ON z.account_id = a.id"
                " JOIN clouds_teamaccount b ON b.account_id = a.id AND b.is_default"
                " JOIN accounts_team t ON t.id = b.team_id AND t.slug = 'demo'"
                " WHERE a.account_id = '210987654321' AND z.opt_in_status = 'opted-in'"
            ).fetchone()[0]
        assert actions[-2:] == ["user.login_failed", "user.logged_in"]
        assert zones >= 1, "the demo setup opts the seed's zone group in on the embedded sandbox"
        assert demo_account_zones >= 1, "team demo builds in its own sandbox account, its seed group opted in"
        verify = subprocess.run([sys.executable, "manage.py", "audit_verify"], cwd=ROOT, env=env, capture_output=True, text=True)
        assert verify.returncode == 0, verify.stdout + verify.stderr

        children = descendants(run.pid)
        assert len(children) >= 4  # sandbox, worker (+ pool), beat, web (+ workers)
    finally:
        interrupt(run, log)
    alive = left_behind(children)
    assert not alive, f"processes left behind: {alive}"
