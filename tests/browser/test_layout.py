"""Every page on a desktop (1440×900) and a phone (390×844): nothing wider than the screen, the
navigation readable, and each role offered only what it may do. The environment here was
approved through the services and described by hand (no workers): test_flow.py walks the real build.
"""

import pytest
from playwright.sync_api import expect

from tests.conftest import origin_of
from tests.panel.conftest import describe_instances, describe_route_tables

from .conftest import PHONE, assert_fits

pytestmark = [pytest.mark.browser]

BOTH = pytest.mark.parametrize("viewport", ["desktop", "phone"], indirect=True)


@pytest.fixture
def described_environment(monkeypatch, zone, alice, bob):
    """alice's environment, approved by bob, with its route tables, instances and Carrier IP described."""
    from environments import services

    monkeypatch.setattr("environments.services.current_app.send_task", lambda *args, **kwargs: None)
    request = services.environment_request_create(
        origin=origin_of(alice), team=alice.memberships.get().team, zone=zone, name="edge-phone",
        instance_type="t3.medium", purpose="A long purpose that a phone has to wrap somewhere sensible",
    )  # fmt: skip
    environment = services.environment_request_approve(origin=origin_of(bob), request_id=request.pk, plan_hash=request.plan_hash)
    describe_route_tables(environment)
    describe_instances(environment)
    return environment


def nav_links(page) -> list[str]:
    return [text.strip() for text in page.locator("nav.mainnav a").all_inner_texts()]


def test_fit_check_catches_an_overflowing_page(log_in, alice):
    """assert_fits can fail: a page made wider than the phone is caught."""
    alice_ = log_in("alice")
    alice_.page.set_viewport_size(PHONE)
    alice_.page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<div style=\"width:900px\">x</div>')")
    with pytest.raises(AssertionError, match="overflows"):
        assert_fits(alice_.page)


@BOTH
def test_every_page_fits_the_screen_and_each_role_sees_its_actions(
    log_in, shots, viewport, described_environment, admin_user, carol, live_server
):
    environment = described_environment
    request_id = environment.request_id
    pages = [
        "/", "/environments/", "/requests/", f"/requests/{request_id}/", f"/environments/{environment.pk}/", "/audit/",
        "/key-pairs/", "/no/such/page/",
    ]  # fmt: skip

    # alice, a plain member: may request; no Approvals tab; her environment's actions.
    alice_ = log_in("alice")
    page = alice_.page
    for path in [*pages, "/requests/new/", f"/environments/{environment.pk}/destroy/"]:
        page.goto(path)
        assert_fits(page)
    page.goto("/")
    links = nav_links(page)
    assert "Approvals" not in " ".join(links) and "New request" in links, links
    expect(page.get_by_role("link", name="Request an environment")).to_be_visible()
    for link in page.locator("nav.mainnav a").all():
        expect(link).to_be_visible()  # wrapped inside the bar, not pushed off the screen
        box = link.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"], (link.inner_text(), box)
    shots(page, "01-home-alice")
    page.goto(f"/environments/{environment.pk}/")
    expect(page.get_by_test_id("actions").get_by_role("link", name="Destroy…")).to_be_visible()
    expect(page.locator("#route-tables")).to_contain_text("cagw-0abc")
    # AWS ids link to the AWS console of the environment's region; addresses have copy buttons.
    console = page.locator("#route-tables a", has_text="rtb-0wavelength")
    expect(console).to_have_attribute(
        "href", "https://us-west-2.console.aws.amazon.com/vpcconsole/home?region=us-west-2#RouteTableDetails:RouteTableId=rtb-0wavelength"
    )
    alice_.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy = page.locator("#addresses button.copy").first
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == "155.146.1.2"
    # The audit trail folds away once it is long; here it is short and open.
    expect(page.get_by_test_id("audit-timeline").locator("details")).to_have_attribute("open", "")
    shots(page, "02-environment-alice")
    page.goto("/environments/")
    expect(page.get_by_test_id("carrier-ip").first).to_have_text("155.146.1.2")
    shots(page, "02-environment-list", publish="environment-list.png" if viewport["width"] >= 1000 else "")
    page.goto("/requests/new/")
    shots(page, "03-request-form")

    if viewport["width"] < 1000:  # the narrowest phones in use: 360 px
        page.set_viewport_size({"width": 360, "height": 740})
        for path in pages:
            page.goto(path)
            assert_fits(page)

    # bob, an approver: the Approvals tab.
    bob_ = log_in("bob")
    bob_.page.goto("/")
    assert "Approvals" in nav_links(bob_.page)
    bob_.page.goto("/approvals/")
    assert_fits(bob_.page)

    # carol, the auditor: reads everything, is offered no request and no action.
    carol_ = log_in("carol")
    page = carol_.page
    for path in pages:
        page.goto(path)
        assert_fits(page)
        expect(page.get_by_role("link", name="Request an environment")).to_have_count(0)
        expect(page.get_by_role("link", name="New request")).to_have_count(0)
        expect(page.locator("nav.mainnav")).not_to_contain_text("Approvals")
    page.goto(f"/environments/{environment.pk}/")
    expect(page.get_by_test_id("actions").locator("a, button")).to_have_count(0)
    page.goto("/requests/new/")
    expect(page.get_by_test_id("error-reason")).to_contain_text("an auditor reads everything and changes nothing")
    expect(page.locator("form.request-form")).to_have_count(0)
    assert_fits(page)
    shots(page, "04-auditor-403", publish="error-403.png" if viewport["width"] >= 1000 else "phone-error-403.png")

    # admin: zones and the Django admin, and only then; an opt-in asks for confirmation first.
    from environments.models import Zone

    Zone.objects.create(
        name="us-east-1-wl1-bos-wlz-1", group_name="us-east-1-wl1", region="us-east-1", carrier="Verizon",
        metro="Boston", opt_in_status="not-opted-in", instance_types=["t3.medium", "r5.2xlarge"],
    )  # fmt: skip
    admin_ = log_in("admin")
    page = admin_.page
    page.goto("/zones/")
    assert_fits(page)
    assert {"Zones", "Admin"} <= set(nav_links(page))
    assert "Zones" not in nav_links(carol_.page)
    shots(page, "05-zones-admin")
    page.get_by_role("link", name="Opt in group us-east-1-wl1…").click()
    expect(page.get_by_test_id("opt-in-consequence")).to_contain_text("needs a request to AWS Support")
    assert_fits(page)
    shots(page, "06-opt-in-confirmation", publish="zone-opt-in.png" if viewport["width"] >= 1000 else "")


def test_the_interactive_api_page_works_under_the_csp(log_in, shots, zone, alice):
    """/api/docs: Swagger UI from ninja's own static files (no CDN), no CSP violation, and an
    operation tried from the page with alice's session answers 200."""
    alice_ = log_in("alice")
    page = alice_.page
    problems = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .title")).to_contain_text("wlpanel API")
    operation = page.locator(".opblock", has=page.locator(".opblock-summary-path", has_text="/api/teams")).first
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table tbody .response-col_status").first).to_contain_text("200")
    expect(operation.locator(".live-responses-table")).to_contain_text('"slug": "demo"')
    shots(page, "api-docs", full_page=False, publish="api-docs.png")
    assert problems == [], problems
