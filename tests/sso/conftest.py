"""A real OpenID Connect provider process (oidc-provider on Node.js, pinned with its lock file),
started once per session next to the live server, and helpers that log in through its pages."""

import json
import os
import re
import shutil
import socket
import subprocess
import time
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
import requests

PROVIDER_DIR = Path(__file__).resolve().parent / "provider"
CLIENT_ID, CLIENT_SECRET = "wlpanel", "wlpanel-test-secret-0123456789abcdef"
OTHER_CLIENT_ID = "other-app"
SHORT_CLIENT_ID = "wlpanel-short"
OUTSIDE_REDIRECT = "http://127.0.0.1:9/callback"  # never followed: the tests stop at the redirect


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _installed() -> None:
    """`npm ci` from the committed lock file, once per checkout."""
    marker = PROVIDER_DIR / "node_modules" / ".package-lock.json"
    lock = PROVIDER_DIR / "package-lock.json"
    if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("The SSO tests need Node.js and npm (Debian: apt-get install nodejs npm).")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, check=True, timeout=300)


class Provider:
    def __init__(self, issuer: str, accounts_file: Path):
        self.issuer = issuer
        self.accounts_file = accounts_file

    def set_account(self, name: str, *, groups: list[str], **extra) -> None:
        accounts = json.loads(self.accounts_file.read_text())
        accounts[name] = {"email": f"{name}@corp.example", "groups": groups, "extra": extra}
        self.accounts_file.write_text(json.dumps(accounts))


@pytest.fixture(scope="session")
def oidc_provider(live_server, tmp_path_factory):
    _installed()
    port = _free_port()
    accounts_file = tmp_path_factory.mktemp("oidc") / "accounts.json"
    accounts_file.write_text("{}")
    panel_callback = f"{live_server.url}/sso/callback/"
    common = {"grant_types": ["authorization_code"], "response_types": ["code"], "require_auth_time": True}
    clients = [
        {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [panel_callback],
         "post_logout_redirect_uris": [f"{live_server.url}/login/"], **common},
        {"client_id": OTHER_CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [OUTSIDE_REDIRECT], **common},
        {"client_id": SHORT_CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [OUTSIDE_REDIRECT], **common},
    ]
    env = {**os.environ, "PORT": str(port), "CLIENTS_JSON": json.dumps(clients), "ACCOUNTS_FILE": str(accounts_file)}
    process = subprocess.Popen(
        ["node", "server.mjs"], cwd=PROVIDER_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{issuer}/.well-known/openid-configuration", timeout=1).ok:
                break
        except requests.ConnectionError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            output = process.stdout.read() if process.poll() is not None else ""
            process.kill()
            pytest.fail(f"the OIDC provider did not start: {output}")
        time.sleep(0.2)
    yield Provider(issuer, accounts_file)
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def sso(settings, oidc_provider):
    """The panel configured for the provider (as WLPANEL_OIDC_* would configure it)."""
    settings.WLPANEL_OIDC_ISSUER = oidc_provider.issuer
    settings.WLPANEL_OIDC_NAME = "Corp SSO"
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.WLPANEL_LOCAL_LOGIN = "admins"
    return oidc_provider


def form_action(page: requests.Response) -> str:
    match = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    assert match, page.text[:2000]
    return urljoin(page.url, unescape(match.group(1)))


def provider_sign_in(session: requests.Session, page: requests.Response, login: str) -> requests.Response:
    """Fill the provider's login page (as a person would) and follow where it sends the browser."""
    assert "Sign-in" in page.text, page.text[:2000]
    return session.post(form_action(page), data={"prompt": "login", "login": login, "password": "any"})


def panel_login(live_server, login: str, *, next_url: str = "/") -> tuple[requests.Session, requests.Response]:
    session = requests.Session()
    page = session.get(f"{live_server.url}/sso/login/", params={"next": next_url})
    return session, provider_sign_in(session, page, login)


def outside_client_tokens(provider, client_id: str, login: str) -> dict:
    """The code flow of another client, stopped at its redirect: the provider's tokens for it."""
    import base64
    import hashlib
    import secrets

    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    session = requests.Session()
    page = session.get(
        f"{provider.issuer}/auth",
        params={"client_id": client_id, "redirect_uri": OUTSIDE_REDIRECT, "response_type": "code",
                "scope": "openid email groups", "nonce": "n-123", "state": "s-123",
                "code_challenge": challenge, "code_challenge_method": "S256"},
    )
    response = session.post(form_action(page), data={"prompt": "login", "login": login, "password": "any"},
                            allow_redirects=False)
    while not response.headers["Location"].startswith(OUTSIDE_REDIRECT):
        response = session.get(urljoin(response.url, response.headers["Location"]), allow_redirects=False)
    code = parse_qs(urlparse(response.headers["Location"]).query)["code"][0]
    tokens = requests.post(
        f"{provider.issuer}/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": OUTSIDE_REDIRECT,
              "code_verifier": verifier},
        auth=(client_id, CLIENT_SECRET),
        timeout=10,
    )
    tokens.raise_for_status()
    return tokens.json()
