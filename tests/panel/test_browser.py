"""The htmx behaviour in a real browser (Debian's Chromium through Playwright): the dependent
instance-type select, the plan preview, and live progress that stops and reloads once settled."""

import pytest
from django.test import Client

from environments.models import Environment, Zone

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(autouse=True)
def orm_beside_playwright(monkeypatch):
    """Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
    plain synchronous code (the documented Django + Playwright arrangement)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def live_server_closes_its_connections(monkeypatch):
    """Each live-server request runs in its own thread: with persistent connections they would
    outlive the test and keep the test database from being dropped."""
    from django.db import connections

    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


@pytest.fixture
def page_as(django_db_setup, browser, live_server):  # the server stops before the test database goes
    """A browser page logged in as `user` (the session cookie of a forced login)."""

    def open_page(user):
        client = Client()
        client.force_login(user)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield open_page
    # ORM calls in the test body ran beside Playwright's greenlets on a connection of their own,
    # which pytest-django does not close; close it here, in the same context.
    from django.db import connections

    connections.close_all()


def settle(environment):
    """The engine's part: the build finished."""
    Environment.objects.filter(pk=environment.pk).update(state="ready")


def test_instance_types_follow_the_zone_and_the_plan_previews(page_as, live_server, alice, zone):
    Zone.objects.create(
        name="us-east-1-wl1-bos-wlz-1", group_name="us-east-1-wl1", region="us-east-1", parent_zone_name="us-east-1a",
        carrier="Verizon", metro="Boston", instance_types=["c5.2xlarge"], opt_in_status="opted-in",
    )
    page = page_as(alice)
    page.goto(f"{live_server.url}/requests/new/")
    page.select_option("#id_zone", "us-east-1-wl1-bos-wlz-1")
    page.wait_for_selector("#id_instance_type option[value='c5.2xlarge']", state="attached")
    assert page.locator("#id_instance_type option").all_inner_texts() == ["c5.2xlarge"]
    assert "Boston" in page.inner_text("#instance-types")

    page.fill("#id_name", "edge-browser")
    page.click("[data-testid=preview-plan]")
    page.wait_for_selector("[data-testid=plan-hash]")
    preview = page.inner_text("#plan-preview")
    assert "CreateCarrierGateway" in preview and "c5.2xlarge" in preview


def test_live_progress_stops_and_the_page_follows_the_state(page_as, live_server, alice, make_environment):
    environment = make_environment(alice)
    page = page_as(alice)
    page.goto(f"{live_server.url}/environments/{environment.pk}/")
    assert page.locator("#environment-live[hx-trigger]").count() == 1
    assert page.locator("text=Destroy…").count() == 1
    settle(environment)
    # The next poll answers 286 with HX-Refresh: the page reloads once, without polling.
    page.wait_for_selector("h1 [data-state=ready]", timeout=15_000)
    assert page.locator("#environment-live[hx-trigger]").count() == 0


def test_a_poll_brings_new_route_tables_without_a_reload(page_as, live_server, alice, make_environment):
    """The described part (route tables, matrix) arrives out of band with a poll once it changed."""
    from .conftest import describe_route_tables

    environment = make_environment(alice)
    page = page_as(alice)
    page.goto(f"{live_server.url}/environments/{environment.pk}/")
    assert page.locator("#route-tables").inner_text().count("rtb-0wavelength") == 0
    page.evaluate("window.sameDocument = true")
    describe_route_tables(environment)
    page.wait_for_selector("#route-tables :text('rtb-0wavelength')", timeout=15_000)
    assert "cagw-0abc" in page.locator("#route-tables").inner_text()
    assert page.evaluate("window.sameDocument") is True  # swapped in place, not reloaded
    assert page.locator("#environment-live[hx-trigger]").count() == 1  # and still polling


def test_asking_for_an_opt_in_stays_on_the_form(page_as, live_server, alice, admin_user, zone):
    from notify.models import Notification

    Zone.objects.filter(pk=zone.pk).update(opt_in_status="not-opted-in")
    page = page_as(alice)
    page.goto(f"{live_server.url}/requests/new/")
    page.fill("#id_name", "kept")
    page.click("[data-testid=ask-opt-in]")
    page.wait_for_selector("[data-testid=opt-in-asked]")
    assert page.input_value("#id_name") == "kept"  # nothing typed is lost
    assert Notification.objects.filter(user=admin_user, verb="zone_group.opt_in_asked").exists()
