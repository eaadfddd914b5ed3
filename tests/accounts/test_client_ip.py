"""The client's address behind proxies (issue 14, finding 4): one function, read by the lockout
and the audit log. First the function on its own, then the panel behind a real reverse proxy
process (tests/accounts/reverse_proxy.py) with clients on different loopback addresses: someone
guessing alice's password from one address locks only that (address, alice) pair, and the audit
log records each client's own address, not the proxy's and not one the client made up."""

import http.client
import re
import subprocess
import sys
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from django.test import RequestFactory

from audit.client_ip import client_ip
from audit.models import AuditEvent
from tests.conftest import PASSWORD

PROXY = Path(__file__).with_name("reverse_proxy.py")
ATTACKER, ALICE = "127.0.0.2", "127.0.0.3"  # loopback addresses the clients connect from


# --- The function ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        ("0", "10.0.0.5", "203.0.113.9", "10.0.0.5"),  # no proxy: the header is the client's own words
        ("1", "10.0.0.5", "203.0.113.9", "203.0.113.9"),
        ("1", "10.0.0.5", "198.51.100.66, 203.0.113.9", "203.0.113.9"),  # the client wrote the first one
        ("1", "10.0.0.5", "", "10.0.0.5"),  # straight in, past no proxy
        ("2", "10.0.0.5", "1.1.1.1, 203.0.113.9, 10.0.0.9", "203.0.113.9"),
        ("2", "10.0.0.5", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.0/8", "10.0.0.5", "198.51.100.66, 203.0.113.9, 10.1.2.3", "203.0.113.9"),
        ("10.0.0.0/8,192.168.0.0/16", "192.168.1.1", "203.0.113.9, 10.1.2.3", "203.0.113.9"),
        ("10.0.0.0/8", "203.0.113.50", "198.51.100.66", "203.0.113.50"),  # not from a trusted proxy
        ("10.0.0.0/8", "10.0.0.5", "10.0.0.6", "10.0.0.6"),  # only proxies: the farthest one
        ("1", "10.0.0.5", "203.0.113.9:51234", "203.0.113.9"),
        ("1", "10.0.0.5", "[2001:db8::1]:443", "2001:db8::1"),
        ("1", "10.0.0.5", "not-an-address", "10.0.0.5"),
        ("10.0.0.0/8", "10.0.0.5", "203.0.113.9, garbage", "10.0.0.5"),
    ],
)
def test_client_ip(settings, trusted, remote, forwarded, expected):
    settings.WLPANEL_TRUSTED_PROXIES = trusted
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **extra)) == expected


def test_the_lockout_and_the_audit_writer_read_the_same_function(settings):
    from axes.helpers import get_client_ip_address

    from audit.services import request_context

    settings.WLPANEL_TRUSTED_PROXIES = "1"
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert get_client_ip_address(request) == request_context(request)["ip_address"] == "203.0.113.9"


# --- Behind a real reverse proxy -----------------------------------------------------------------


@pytest.fixture
def proxy(live_server):
    """The reverse proxy in its own process, in front of the live panel; stopped afterwards."""
    process = subprocess.Popen(
        [sys.executable, str(PROXY), "--upstream", live_server.url], stdout=subprocess.PIPE, text=True
    )
    try:
        port = int(process.stdout.readline())
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


class Browser:
    """Cookies and CSRF over plain http.client, connecting from a chosen loopback address."""

    def __init__(self, port: int, source: str):
        self.port, self.source, self.cookies = port, source, SimpleCookie()

    def request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, source_address=(self.source, 0), timeout=30)
        sent = {"Cookie": "; ".join(f"{k}={v.value}" for k, v in self.cookies.items()), **(headers or {})}
        data = None
        if body is not None:
            data = urlencode(body)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        content = response.read().decode(errors="replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            self.cookies.load(header)
        connection.close()
        return response.status, response.headers, content

    def log_in(self, username: str, password: str, headers: dict | None = None):
        _, _, page = self.request("GET", "/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, answer_headers, _ = self.request(
            "POST", "/login/", {"username": username, "password": password, "csrfmiddlewaretoken": token}, headers
        )
        return status, answer_headers


def _logged_in(status, headers) -> bool:
    return status == 302 and urlsplit(headers.get("Location", "")).path == "/"


@pytest.mark.django_db(transaction=True)
def test_guessing_from_one_address_does_not_lock_the_user_out_from_another(proxy, alice, settings):
    settings.WLPANEL_TRUSTED_PROXIES = "1"
    attacker = Browser(proxy, ATTACKER)
    # The attacker guesses, and also claims to be alice's address: the proxy appends the real one.
    spoof = {"X-Forwarded-For": ALICE}
    statuses = [attacker.log_in("alice", "wrong", spoof)[0] for _ in range(settings.AXES_FAILURE_LIMIT)]
    # The form again ("please enter a correct username and password"), until the last guess locks.
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    # The attacker's pair is locked now, even with the right password.
    status, headers = attacker.log_in("alice", PASSWORD, spoof)
    assert status in (403, 429) and not _logged_in(status, headers)
    # alice, from her own address, logs in at once.
    status, headers = Browser(proxy, ALICE).log_in("alice", PASSWORD)
    assert _logged_in(status, headers), status

    failed = AuditEvent.objects.filter(action="user.login_failed")
    assert failed.count() >= settings.AXES_FAILURE_LIMIT
    assert set(failed.values_list("ip_address", flat=True)) == {ATTACKER}  # not the proxy's, not the claimed one
    assert AuditEvent.objects.get(action="user.logged_in").ip_address == ALICE


@pytest.mark.django_db(transaction=True)
def test_without_the_trusted_proxy_setting_everyone_shares_the_proxys_address(proxy, alice, settings):
    """The finding as it was: behind a proxy, with the header ignored, a stranger locks alice out."""
    settings.WLPANEL_TRUSTED_PROXIES = "0"
    attacker = Browser(proxy, ATTACKER)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attacker.log_in("alice", "wrong")
    status, headers = Browser(proxy, ALICE).log_in("alice", PASSWORD)
    assert not _logged_in(status, headers) and status in (403, 429)
    assert set(AuditEvent.objects.values_list("ip_address", flat=True)) == {"127.0.0.1"}


@pytest.mark.django_db(transaction=True)
def test_a_locked_pair_may_try_again_after_the_cool_off(proxy, alice, settings):
    from datetime import timedelta

    from axes.models import AccessAttempt
    from django.utils import timezone

    settings.WLPANEL_TRUSTED_PROXIES = "1"
    guesser = Browser(proxy, ATTACKER)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        guesser.log_in("alice", "wrong")
    assert guesser.log_in("alice", PASSWORD)[0] == 429
    # The cool-off passes (the attempts' clock turned back rather than waited for).
    AccessAttempt.objects.update(attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(minutes=1))
    assert _logged_in(*guesser.log_in("alice", PASSWORD))
