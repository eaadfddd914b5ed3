"""Fixtures of the notification tests: a real SMTP server process and a real webhook receiver
process, each on a free loopback port; requests and environments made through the services."""

import mailbox
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import wait_for
from tests.panel.conftest import make_environment, make_request  # noqa: F401 (fixtures)

HERE = Path(__file__).resolve().parent


class Api:
    """A client that speaks JSON to /api/ with a bearer token."""

    def __init__(self, user):
        from django.test import Client

        from accounts.services import api_token_issue

        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {api_token_issue(user=user)}"}

    def get(self, path, params=None):
        return self.client.get(f"/api{path}", params or {}, **self.headers)

    def post(self, path, body=None):
        return self.client.post(f"/api{path}", body or {}, content_type="application/json", **self.headers)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class ServerProcess:
    def __init__(self, args: list[str], port: int, log_path: Path):
        self.port = port
        self.log = open(log_path, "wb")  # noqa: SIM115 - kept open for the process's life
        self.process = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(lambda: self.process.poll() is not None or _answers(port), timeout=30, message=f"{args[2]} on {port}")
        assert self.process.poll() is None, log_path.read_text()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


class SmtpServer(ServerProcess):
    """aiosmtpd with its Mailbox handler: what arrives is stored in a maildir we read back."""

    def __init__(self, tmp_path: Path):
        self.maildir = tmp_path / "maildir"
        port = free_port()
        super().__init__(
            [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox", str(self.maildir)],
            port,
            tmp_path / "smtp.log",
        )

    def messages(self) -> list:
        if not self.maildir.exists():
            return []
        return list(mailbox.Maildir(self.maildir, create=False))


@pytest.fixture
def smtp_server(tmp_path, settings):
    server = SmtpServer(tmp_path)
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_USE_TLS = False
    yield server
    server.stop()


class WebhookReceiver(ServerProcess):
    """tests/notify/receiver.py: logs every POST it gets; fails the first `fail_first` with 500."""

    def __init__(self, tmp_path: Path, fail_first: int = 0):
        self.log_path = tmp_path / "received.jsonl"
        port = free_port()
        super().__init__(
            [sys.executable, str(HERE / "receiver.py"), str(port), str(self.log_path), str(fail_first)],
            port,
            tmp_path / "receiver.log",
        )
        self.url = f"http://127.0.0.1:{port}/hook"

    def received(self) -> list[dict]:
        import json

        if not self.log_path.exists():
            return []
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]


@pytest.fixture
def webhook_receiver(tmp_path):
    started = []

    def start(*, fail_first: int = 0) -> WebhookReceiver:
        receiver = WebhookReceiver(tmp_path, fail_first)
        started.append(receiver)
        return receiver

    yield start
    for receiver in started:
        receiver.stop()
