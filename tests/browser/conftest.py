"""Fixtures of the browser tests: Debian's Chromium through Playwright, a live server on the test
database, real workers against the sandbox, people logged in in their own browser contexts, and
screenshots kept as artifacts under `test-artifacts/browser/`.

Playwright's sync API runs an event loop in this thread, so Django would refuse ORM calls made
here (SynchronousOnlyOperation); the tests only read and set up rows between browser actions,
never from inside a coroutine, which is what DJANGO_ALLOW_ASYNC_UNSAFE allows (test-only).
"""

import os
import re
import shutil
import time
from importlib import import_module
from pathlib import Path

import boto3
import pytest

from tests.conftest import PASSWORD, ROOT, opt_in_and_wait

# The browser reaches the live server on IPv4 loopback, an address ALLOWED_HOSTS already knows.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")
# Never fetch a browser: Debian's Chromium is the one under test.
os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"

CHROMIUM = Path(os.environ.get("WLPANEL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
SEED_GROUP = "us-west-2-wl1"
# Engine tunables for the workers: poll AWS twice a second so a build takes seconds.
FAST_ENGINE = {"WLPANEL_POLL_SECONDS": "0.5", "WLPANEL_DISPATCH_GRACE_SECONDS": "5"}
# Generous: the machine is shared with other test runs.
SLOW = 30_000
BUILD = 180_000
# The two screens the panel is walked through: a desktop and a phone (CSS pixels).
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desktop": DESKTOP, "phone": PHONE}

FITS_JS = """screen => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    wide: [...document.querySelectorAll("body *")]
        .filter(el => el.getBoundingClientRect().right > screen + 1
                      && !el.closest(".card, .table-scroll, .topology, pre"))
        .slice(0, 5).map(el => el.tagName.toLowerCase() + (el.className ? "." + el.className : "")),
})"""


def assert_fits(page) -> None:
    """No horizontal scrolling of the page itself: wide content scrolls inside its own box. Measured
    against the screen's width too, in case a phone browser widened its layout to the content."""
    page.wait_for_load_state()
    screen = page.viewport_size["width"]
    measured = page.evaluate(FITS_JS, screen)
    assert measured["scrollWidth"] <= min(measured["innerWidth"], screen), f"{page.url} overflows: {measured}"


@pytest.fixture(autouse=True)
def orm_beside_playwright(monkeypatch, playwright_instance):
    """The tests' own ORM calls run between browser actions, in the thread where Playwright's
    event loop lives: allowed for these tests only. While that loop counts as running, Django keeps
    this thread's connections apart from the usual ones (asgiref's Local), so they are closed here,
    before Playwright stops — else one would outlive the test and block dropping the test database."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    yield
    from django.db import connections

    connections.close_all()


# Function-scoped: Playwright's sync API allows one running instance per thread, and other test
# folders (tests/panel) start their own.
@pytest.fixture
def playwright_instance():
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=SLOW)  # assertions retry as long as actions wait: the machine is shared

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def browser(playwright_instance):
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"The browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium); "
            "Playwright must not download one.",
            pytrace=False,
        )
    browser = playwright_instance.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


# WLPANEL_SCREENSHOTS=update: the tests also re-take the README's screenshots in docs/screenshots/.
PUBLISHED = ROOT / "docs" / "screenshots"


class Screenshots:
    """`shots(page, "01-request-form")` saves test-artifacts/browser/<test>/01-request-form.png;
    with `publish="request-form.png"` it also replaces docs/screenshots/request-form.png when
    WLPANEL_SCREENSHOTS=update."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()

    def __call__(self, target, name: str, *, full_page: bool = True, publish: str = "") -> Path:
        """`target` is a page (whole page) or a locator (that element only)."""
        path = self.folder / f"{name}.png"
        if hasattr(target, "goto"):
            target.screenshot(path=str(path), full_page=full_page)
        else:
            target.screenshot(path=str(path))
        if publish and os.environ.get("WLPANEL_SCREENSHOTS") == "update":
            shutil.copyfile(path, PUBLISHED / publish)
        return path


@pytest.fixture
def shots(request) -> Screenshots:
    return Screenshots(ARTIFACTS / re.sub(r"[^\w.-]+", "-", request.node.name))


class Person:
    """One person in their own browser context (own cookies), with helpers for the panel."""

    def __init__(self, browser, base_url: str, username: str, viewport: dict | None = None):
        self.username = username
        self.base_url = base_url
        self.viewport = viewport or DESKTOP
        self.context = browser.new_context(
            base_url=base_url, viewport=self.viewport, is_mobile=self.viewport["width"] < 600, has_touch=self.viewport["width"] < 600
        )
        self.context.set_default_timeout(SLOW)
        self.context.set_default_navigation_timeout(SLOW)
        self.page = self.context.new_page()

    def url(self, path: str) -> str:
        return self.base_url + path

    def log_in(self) -> "Person":
        from playwright.sync_api import expect

        page = self.page
        page.goto("/login/")
        page.fill("#id_username", self.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]:has-text('Log in')")
        expect(page.get_by_test_id("who")).to_have_text(self.username)
        return self

    def confirm_password_if_asked(self) -> bool:
        """The panel asks for the password again before sensitive actions after a while."""
        page = self.page
        if "/reauth/" not in page.url:
            return False
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]:has-text('Confirm')")
        page.wait_for_load_state()
        return True

    def session_age(self, seconds: int) -> None:
        """Pretend the password was entered `seconds` ago (as if logged in long before)."""
        from django.conf import settings

        key = next(c["value"] for c in self.context.cookies() if c["name"] == settings.SESSION_COOKIE_NAME)
        store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
        store["authenticated_at"] = int(time.time()) - seconds
        store.save()

    def post(self, path: str, form: dict | None = None):
        """A POST with this person's cookies and CSRF token, as a hand-made form would send it."""
        token = next(c["value"] for c in self.context.cookies() if c["name"] == "csrftoken")
        return self.context.request.post(
            self.url(path),
            form=form or {},
            headers={"X-CSRFToken": token},
            max_redirects=0,
            fail_on_status_code=False,
        )

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def viewport(request) -> dict:
    """The screen size people browse with: desktop unless a test is parametrized with `viewport`."""
    return VIEWPORTS[getattr(request, "param", "desktop")]


@pytest.fixture
def log_in(browser, live_server, request):
    # The `viewport` fixture where the test's module sees it (other folders import log_in alone).
    try:
        viewport = request.getfixturevalue("viewport")
    except pytest.FixtureLookupError:
        viewport = DESKTOP
    people: list[Person] = []

    def open_as(username: str) -> Person:
        person = Person(browser, live_server.url, username, viewport).log_in()
        people.append(person)
        return person

    yield open_as
    for person in people:
        person.close()


def sandbox_ec2(sandbox, region: str):
    """Plain boto3 against the sandbox, as a person with the AWS CLI would use it."""
    return boto3.client(
        "ec2", region_name=region, endpoint_url=sandbox.url, aws_access_key_id="sandbox", aws_secret_access_key="sandbox"
    )


@pytest.fixture
def sandbox_zone(zone, sandbox):
    """The seed's zone: opted in in the zone cache (the `zone` row) and on the sandbox too."""
    ec2 = sandbox_ec2(sandbox, zone.region)
    opt_in_and_wait(ec2, SEED_GROUP)
    return zone


@pytest.fixture
def aws_latency(sandbox):
    """The sandbox answers as slowly as AWS does (its `aws` preset), so a build takes long enough
    for a person — and the test — to watch it progress."""
    import requests

    requests.post(f"{sandbox.url}/_sandbox/latency", json={"preset": "aws"}, timeout=10).raise_for_status()
    return sandbox


@pytest.fixture
def workers(start_worker):
    """Two real worker processes' worth of concurrency and beat (the reconciler) on this session's queue."""
    return start_worker(concurrency=2, beat=True, extra_env=FAST_ENGINE)


def sandbox_inventory(sandbox, environment_id: int) -> list[dict]:
    import requests

    answer = requests.get(
        f"{sandbox.url}/_sandbox/inventory",
        params={"tag": f"wlpanel:environment={environment_id}"},
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()["items"]
