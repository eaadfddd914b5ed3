"""The cost estimate and the approval policy in a real browser: the preview shows both, the first
of two approvals leaves the request pending with the approver named. Screenshots for the README."""

import pytest
from playwright.sync_api import expect

from .test_flow import request_through_the_form, submit_request

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@pytest.fixture
def priced_policy(sandbox, admin_user, team):
    from audit.choices import Source
    from audit.context import Origin
    from policies.services import policy_version_add
    from pricing.services import prices_refresh
    from tests.conftest import origin_of

    prices_refresh(origin=Origin.system(Source.BEAT))
    return policy_version_add(
        origin=origin_of(admin_user),
        team=team,
        approval_window_hours=48,
        default_approvals=1,
        rules=[{"name": "costly or long", "approvals_required": 2, "min_hourly_usd": 0.05, "min_ttl_hours": 168}],
    )


def test_cost_and_policy_on_preview_and_approval_page(log_in, sandbox_zone, priced_policy, alice, bob, erin, shots):
    alice_ = log_in("alice")
    request_through_the_form(alice_.page, name="edge-priced", zone_name=sandbox_zone.name)
    preview = alice_.page.locator("#plan-preview")
    expect(preview.get_by_test_id("cost-hourly")).to_be_visible()
    expect(preview.get_by_test_id("sample-prices")).to_be_visible()
    expect(preview.get_by_test_id("policy-rule")).to_have_text("costly or long")
    preview.get_by_test_id("policy").scroll_into_view_if_needed()
    shots(alice_.page, "cost-estimate", full_page=False)
    request_id = submit_request(alice_.page)

    bob_ = log_in("bob")
    page = bob_.page
    page.goto(f"/requests/{request_id}/")
    page.click("button[type=submit]:has-text('Approve and build')")
    bob_.confirm_password_if_asked()
    expect(page.get_by_test_id("policy-approvals")).to_contain_text("Approved so far (1 of 2)")
    expect(page.locator("h1 .badge[data-state]")).to_have_attribute("data-state", "pending")

    erin_ = log_in("erin")
    erin_.page.goto(f"/requests/{request_id}/")
    expect(erin_.page.get_by_test_id("decision")).to_be_visible()
    expect(erin_.page.get_by_test_id("policy-approvals")).to_contain_text("bob")
    shots(erin_.page, "approval-policy")
