"""`make run`: a fresh clone to a running panel on http://127.0.0.1:${PORT:-8000}.

Order: database (created if missing), migrations, demo data, the sandbox on a free loopback port
(unless WLPANEL_AWS_ENDPOINT names another endpoint or `aws`), a worker, beat, and last the web
server, so it listens only once everything behind it is ready. Ctrl-C or SIGTERM stops every child.
"""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
children: list[subprocess.Popen] = []


def log(message: str) -> None:
    print(f"[make run] {message}", flush=True)


def manage(*args: str, env: dict) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


def spawn(name: str, args: list[str], env: dict) -> subprocess.Popen:
    log(f"starting {name}: {' '.join(args)}")
    # Own process group, so stopping it also stops its children (prefork pool, gunicorn workers).
    child = subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True)
    children.append(child)
    return child


def stop_children(*_args) -> None:
    for child in reversed(children):
        if child.poll() is None:
            try:
                # The leader only; it stops its own children. Killed under it, a prefork pool on the
                # filesystem broker hangs the worker's exit on their shared queue lock (SIGKILL below).
                os.kill(child.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + 15
    for child in reversed(children):
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    children.clear()


def ensure_local_database(env: dict) -> None:
    """With no DATABASE_URL and a local PostgreSQL answering, create the `wlpanel` database if missing."""
    if env.get("DATABASE_URL"):
        return
    code = (
        "import psycopg, sys\n"
        "try:\n"
        "    conn = psycopg.connect('postgresql://postgres@127.0.0.1:5432/postgres', autocommit=True, connect_timeout=2)\n"
        "except Exception:\n"
        "    sys.exit(0)\n"
        "if not conn.execute(\"select 1 from pg_database where datname='wlpanel'\").fetchone():\n"
        "    conn.execute('create database wlpanel')\n"
        "    print('[make run] created database wlpanel')\n"
    )
    subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=env, check=True)


def start_sandbox(env: dict) -> str:
    ready_file = Path(tempfile.mkdtemp(prefix="wlpanel-")) / "sandbox-url"
    pending = env.get("WLPANEL_SANDBOX_PENDING_SECONDS", "8")
    sandbox = spawn(
        "sandbox",
        [PYTHON, "manage.py", "sandbox", "--host", "127.0.0.1", "--port", "0", "--ready-file", str(ready_file),
         "--pending-seconds", pending],
        env,
    )
    deadline = time.monotonic() + 60
    while not ready_file.exists() or not ready_file.read_text().strip():
        if sandbox.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("[make run] the sandbox did not start; see its output above")
        time.sleep(0.1)
    return ready_file.read_text().strip()


def main() -> int:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    port = env.get("PORT", "8000")
    try:
        ensure_local_database(env)
        manage("migrate", "--noinput", env=env)
        manage("collectstatic", "--noinput", "-v0", env=env)
        manage("demo_setup", "--password", env.get("WLPANEL_DEMO_PASSWORD", ""), env=env)
        if not env.get("WLPANEL_AWS_ENDPOINT"):
            env["WLPANEL_AWS_ENDPOINT"] = start_sandbox(env)
            env["WLPANEL_SANDBOX_EMBEDDED"] = "1"
            log(f"sandbox ready at {env['WLPANEL_AWS_ENDPOINT']}")
        manage("demo_zones", env=env)
        spawn("worker", [PYTHON, "-m", "celery", "-A", "wlpanel", "worker", "-l", "info", "-c", "8"], env)
        spawn("beat", [PYTHON, "-m", "celery", "-A", "wlpanel", "beat", "-l", "info",
                       "-s", str(ROOT / "var" / "celerybeat-schedule")], env)
        web = spawn(
            "web",
            [PYTHON, "-m", "gunicorn", "wlpanel.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
             "--threads", "4", "--access-logfile", "-"],
            env,
        )
        log(f"panel on http://127.0.0.1:{port}/ — log in as alice (member), bob (approver), carol (auditor) or admin")
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        log("a process stopped; stopping the others")
        return web.returncode or 1
    except KeyboardInterrupt:
        log("stopping")
        return 0
    finally:
        stop_children()


if __name__ == "__main__":
    (ROOT / "var").mkdir(exist_ok=True)
    sys.exit(main())
