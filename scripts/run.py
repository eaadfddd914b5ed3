"""`make run`: a fresh clone to a running panel on http://127.0.0.1:${PORT:-8000}.

Order: database (created if missing), migrations, demo data, the sandbox on a free loopback port
(unless WLPANEL_AWS_ENDPOINT names another endpoint or `aws`), a worker, beat, and last the web
server, so it listens only once everything behind it is ready. Ctrl-C or SIGTERM stops every child.

The worker and beat are supervised: one that exits is started again after 1 s, and after a delay
that doubles (2, 4 ... 60 s) while it keeps exiting within a minute of its start. Every
WLPANEL_LIVENESS_PROBE_SECONDS (30) the worker is also judged by `manage.py worker_alive`: a worker
alive but no longer consuming (or with no heartbeat 2 min after its start) is killed, with its
pool, and started again. The sandbox and the
web server are not restarted: if one stops, everything stops, as before.
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


class Supervised:
    """A child that is started again when it exits, or (`probe`) when the liveness probe says stalled."""

    MIN_UPTIME = 60.0  # a child that lived this long before exiting was not crash-looping
    MISSING_LIMIT = 120.0  # a worker that has written no heartbeat after this long is stuck starting

    def __init__(self, name: str, args: list[str], env: dict, *, probe: bool = False):
        self.name, self.args, self.env, self.probe = name, args, env, probe
        self.failures = 0
        self.restart_at: float | None = None
        self.probe_every = float(env.get("WLPANEL_LIVENESS_PROBE_SECONDS", "30"))
        self.process = spawn(name, args, env)
        self.started_at = self.next_probe = time.monotonic()

    def tick(self, now: float) -> None:
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restart_at = None
                self._start(now)
            return
        code = self.process.poll()
        if code is not None:
            self._schedule(now, f"{self.name} (pid {self.process.pid}) exited with code {code}")
        elif self.probe and now >= self.next_probe:
            self.next_probe = now + self.probe_every
            verdict = self._probe()
            # "missing": no heartbeat written yet; only a worker that never writes one is stuck.
            if verdict and (verdict.startswith("stalled:") or now - self.started_at > self.MISSING_LIMIT):
                self._kill()
                self._schedule(now, f"{self.name} (pid {self.process.pid}) is stalled ({verdict})")

    def _probe(self) -> str | None:
        """The probe's line when it exits 1 (stalled or missing); None when alive, or it could not tell."""
        try:
            result = subprocess.run(
                [PYTHON, "manage.py", "worker_alive", "--pid", str(self.process.pid)],
                cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=60,
            )
        except subprocess.TimeoutExpired:
            log(f"{self.name}: the liveness probe did not answer within 60 s")
            return None
        lines = result.stdout.strip().splitlines()
        if result.returncode == 1 and lines and lines[-1].startswith(("stalled:", "missing:")):
            return lines[-1]
        if result.returncode != 0:  # the probe itself failed: never a reason to kill the worker
            log(f"{self.name}: the liveness probe failed: {(result.stderr or result.stdout).strip()[-300:]}")
        return None

    def _kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # a stalled worker cannot shut down warmly
        except ProcessLookupError:
            pass
        self.process.wait()

    def _schedule(self, now: float, why: str) -> None:
        self.failures = 0 if now - self.started_at >= self.MIN_UPTIME else self.failures + 1
        delay = min(2.0 ** max(self.failures - 1, 0), 60.0)
        log(f"{why}; starting it again in {delay:.0f} s")
        self.restart_at = now + delay

    def _start(self, now: float) -> None:
        old = self.process
        self.process = spawn(self.name, self.args, self.env)
        children.remove(self.process)
        children[children.index(old)] = self.process  # keep the stop order
        self.started_at = self.next_probe = now


def supervise(supervised: list[Supervised], essential: list[subprocess.Popen], stop=lambda: False) -> None:
    """Until an essential child stops (or `stop()`): restart the supervised ones as needed."""
    while not stop() and all(child.poll() is None for child in essential):
        now = time.monotonic()
        for child in supervised:
            child.tick(now)
        time.sleep(0.5)


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
    # Unset: the command's own default (5 s, as strict as the product's tests expect AWS to be).
    opt_in = env.get("WLPANEL_SANDBOX_OPT_IN_SECONDS", "")
    sandbox = spawn(
        "sandbox",
        [PYTHON, "manage.py", "sandbox", "--host", "127.0.0.1", "--port", "0", "--ready-file", str(ready_file),
         "--pending-seconds", pending, *(["--opt-in-seconds", opt_in] if opt_in else [])],
        env,
    )
    deadline = time.monotonic() + 60
    while not ready_file.exists() or not ready_file.read_text().strip():
        if sandbox.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("[make run] the sandbox did not start; see its output above")
        time.sleep(0.1)
    return ready_file.read_text().strip()


def demo_setup(env: dict) -> None:
    # The command reads WLPANEL_DEMO_PASSWORD from its environment: an argument would show in `ps`.
    manage("demo_setup", env=env)


def beat_schedule(env: dict) -> Path:
    """Beat's schedule file, beside the other local state (WLPANEL_VAR_DIR, as in settings)."""
    var_dir = Path(env.get("WLPANEL_VAR_DIR") or ROOT / "var")
    var_dir.mkdir(parents=True, exist_ok=True)
    return var_dir / "celerybeat-schedule"


def main() -> int:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    # Ctrl-C stops everything even when started with SIGINT ignored (a background job of a
    # non-interactive shell inherits that, and would never stop on it).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    port = env.get("PORT", "8000")
    try:
        ensure_local_database(env)
        manage("migrate", "--noinput", env=env)
        manage("collectstatic", "--noinput", "-v0", env=env)
        demo_setup(env)
        if not env.get("WLPANEL_AWS_ENDPOINT"):
            env["WLPANEL_AWS_ENDPOINT"] = start_sandbox(env)
            env["WLPANEL_SANDBOX_EMBEDDED"] = "1"
            log(f"sandbox ready at {env['WLPANEL_AWS_ENDPOINT']}")
        manage("demo_account", env=env)  # the demo team's own account, as a customer sets it up
        manage("demo_zones", env=env)
        manage("prices_refresh", env=env)  # beat refreshes daily; estimates need prices from the start
        supervised = [
            Supervised("worker", [PYTHON, "-m", "celery", "-A", "wlpanel", "worker", "-l", "info", "-c", "8"], env,
                       probe=True),
            Supervised("beat", [PYTHON, "-m", "celery", "-A", "wlpanel", "beat", "-l", "info",
                                "-s", str(beat_schedule(env))], env),
        ]
        web = spawn(
            "web",
            # Workers, threads and timeout: gunicorn.conf.py.
            [PYTHON, "-m", "gunicorn", "wlpanel.wsgi", "--bind", f"127.0.0.1:{port}", "--access-logfile", "-"],
            env,
        )
        log(f"panel on http://127.0.0.1:{port}/ — log in as alice (member), bob (approver), carol (auditor) or admin")
        supervise(supervised, [child for child in children if all(child is not s.process for s in supervised)])
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
