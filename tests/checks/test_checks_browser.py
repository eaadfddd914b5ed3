"""The checks panel in Debian's Chromium: the automatic run's verdicts, then Run checks, watched live."""

import pytest
from playwright.sync_api import expect

from checks.models import CheckRun
from tests.browser.conftest import browser, log_in, orm_beside_playwright, playwright_instance, shots  # noqa: F401
from tests.conftest import wait_for
from tests.provisioning.conftest import wait_for_state

pytestmark = [pytest.mark.browser, pytest.mark.workers, pytest.mark.timeout(300)]


def test_the_page_marks_every_cell_and_runs_checks_on_demand(
    engine_worker,
    make_environment,
    log_in,  # noqa: F811 - the fixture imported above
    shots,  # noqa: F811
):
    engine_worker(WLPANEL_CHECKS_AUTOMATIC="1")
    environment = make_environment("edge-checks")
    wait_for_state(environment, "ready", "failed", timeout=120)
    assert environment.state == "ready", environment.failure_reason
    wait_for(
        lambda: CheckRun.objects.filter(environment=environment, state="done").exists(),
        timeout=180,
        message="the automatic check run",
    )

    page = log_in("alice").page
    page.goto(f"/environments/{environment.pk}/")
    panel = page.get_by_test_id("checks-panel")
    expect(panel.get_by_test_id("checks-agree")).to_be_visible()
    expect(panel.locator('td[data-verdict="verified"]')).to_have_count(24)
    # Predicted and observed side by side: the seed's "ssh from the internet" is denied, and verified so.
    internet_row = (
        panel.locator("tr", has=page.locator("td.mono", has_text="internet"))
        .filter(has_text="wavelength-instance")
        .first
    )
    expect(internet_row.locator("td").nth(2)).to_contain_text("denied")  # TCP
    expect(internet_row.locator("td").nth(4)).to_contain_text("allowed")  # ICMP
    expect(panel.get_by_test_id("path-mtu")).to_contain_text("1300 bytes")

    panel.get_by_test_id("run-checks").click()
    expect(
        page.get_by_test_id("checks-panel").locator(".live-dot")
    ).to_be_visible()  # polling while in flight
    expect(page.get_by_test_id("checks-panel").get_by_test_id("checks-agree")).to_be_visible(timeout=180_000)
    expect(page.get_by_test_id("checks-panel").locator(".live-dot")).to_have_count(0)
    runs = list(CheckRun.objects.filter(environment=environment).order_by("id"))
    assert [run.automatic for run in runs] == [True, False] and runs[1].requested_by.username == "alice"
    page.get_by_test_id("checks-panel").screenshot(path=str(shots.folder / "environment-checks.png"))
