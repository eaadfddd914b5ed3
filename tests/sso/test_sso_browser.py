"""One login through the provider's own page, in Debian's Chromium (Playwright)."""

import os
import re
from pathlib import Path

import pytest

from accounts.choices import TeamRole
from sso.models import GroupRule

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path(os.environ.get("WLPANEL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
NOT_LOOPBACK = re.compile(r"^https?://(?!127\.0\.0\.1[:/]|localhost[:/])")


def test_log_in_through_the_providers_page(live_server, sso, team, monkeypatch):
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("The browser tests need Debian's Chromium at /usr/bin/chromium (apt-get install chromium).")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # ORM reads beside Playwright's loop
    GroupRule.objects.create(group="wl-demo-approvers", team=team, team_role=TeamRole.APPROVER)
    sso.set_account("kim", groups=["wl-demo-approvers"])
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route(NOT_LOOPBACK, lambda route: route.abort())  # the provider's page asks for web fonts
            page.goto(f"{live_server.url}/login/")
            page.click("#sso-login")
            expect(page).to_have_url(re.compile(rf"^{re.escape(sso.issuer)}/interaction/"))
            page.fill("input[name=login]", "kim")
            page.fill("input[name=password]", "anything")
            page.click("button[type=submit]")
            expect(page).to_have_url(f"{live_server.url}/")
            expect(page.locator("body")).to_contain_text("kim")
        finally:
            browser.close()
    from django.db import connections

    connections.close_all()
