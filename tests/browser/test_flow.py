"""The panel in a real browser: request, four-eyes approval, a live build, the network as built,
read-only auditing, and teardown — Debian's Chromium, the live server, real workers, the sandbox.
"""

import re

import pytest
import requests
from django.core.cache import cache
from django.urls import reverse
from playwright.sync_api import expect

from environments.models import Environment, EnvironmentRequest
from tests.lab.labkit import Control

from .conftest import BUILD, assert_fits, sandbox_ec2, sandbox_inventory

pytestmark = [pytest.mark.browser, pytest.mark.workers, pytest.mark.timeout(300)]

ENVIRONMENT_URL = re.compile(r"/environments/(\d+)/$")
REQUEST_URL = re.compile(r"/requests/(\d+)/$")
STATE_BADGE = "h1 .badge[data-state]"


def request_through_the_form(page, *, name: str, zone_name: str, key_name: str = "") -> str:
    """Fill the request form with the defaults (and a key pair, if given), preview the plan;
    returns the previewed plan hash."""
    page.goto("/requests/new/")
    page.fill("#id_name", name)
    page.fill("#id_purpose", "Latency test from the San Francisco metro")
    page.select_option("#id_zone", zone_name)
    expect(page.locator("#instance-types")).to_contain_text("Verizon")
    page.select_option("#id_instance_type", "t3.medium")
    # SSH to the bastion from: the panel sees the browser at 127.0.0.1, which is not what AWS would
    # see, so it suggests nothing and says why; alice enters her public address.
    expect(page.locator("#id_bastion_ssh_cidr")).to_have_value("")
    expect(page.locator("#field-bastion_ssh_cidr ~ .help").first).to_contain_text("The panel sees you at a private address (127.0.0.1)")
    if key_name:
        page.fill("#id_bastion_ssh_cidr", "198.51.100.7/32")
        page.locator("summary", has_text="Advanced: key pair and AMI").click()
        # The picker offers the region's key pairs (DescribeKeyPairs).
        expect(page.get_by_test_id("key-pair-names")).to_contain_text(key_name)
        page.fill("#id_key_name", key_name)
    page.get_by_test_id("preview-plan").click()
    plan_hash = page.locator("#plan-preview").get_by_test_id("plan-hash")
    expect(plan_hash).to_be_visible()
    expect(page.locator("#plan-preview")).to_contain_text("CreateCarrierGateway")
    assert_fits(page)
    return plan_hash.get_attribute("title")


def submit_request(page) -> int:
    page.click("button[type=submit]:has-text('Submit request')")
    expect(page).to_have_url(REQUEST_URL)
    expect(page.locator(STATE_BADGE)).to_have_attribute("data-state", "pending")
    return int(REQUEST_URL.search(page.url).group(1))


def wait_for_settled_state(page, *states: str, timeout: int = BUILD) -> str:
    """Wait, without reloading, until the header's state badge shows one of `states`."""
    selector = ", ".join(f"h1 .badge[data-state={state}]" for state in states)
    page.wait_for_selector(selector, timeout=timeout)
    return page.locator(STATE_BADGE).get_attribute("data-state")


MATRIX_JS = """table => {
    const protocols = [...table.querySelectorAll("thead th")].slice(2, -1).map(th => th.textContent.trim());
    return [...table.querySelectorAll("tbody tr")].map(row => {
        const cells = [...row.children];
        return {
            pair: cells[0].textContent.trim() + " -> " + cells[1].textContent.trim(),
            cells: Object.fromEntries(cells.slice(2, -1).map((td, i) => [
                protocols[i], {allowed: td.classList.contains("allow"), why: td.getAttribute("title") || ""},
            ])),
            why: [...cells[cells.length - 1].querySelectorAll("li")].map(li => li.textContent.trim()),
        };
    });
}"""


MID_BUILD_JS = """() => {
    const rows = [...document.querySelectorAll("#step-progress tr.step")];
    const done = rows.filter(row => row.classList.contains("step-ready")).length;
    const settled = document.querySelector("h1 .badge[data-state=ready], h1 .badge[data-state=failed]");
    return settled !== null || (done > 0 && done < rows.length);
}"""


def traffic_matrix(page) -> dict[str, dict[str, dict]]:
    """The matrix as shown: {"From -> To": {"TCP": {"allowed": bool, "why": reasons}, ...}}."""
    rows = page.locator("#traffic-matrix table.matrix").evaluate(MATRIX_JS)
    return {row["pair"]: row["cells"] for row in rows}


def traffic_why(page) -> dict[str, list[str]]:
    """The one list of reasons each row of the matrix shows."""
    rows = page.locator("#traffic-matrix table.matrix").evaluate(MATRIX_JS)
    return {row["pair"]: row["why"] for row in rows}


def failure_text(page) -> str:
    failure = page.get_by_test_id("failure")
    return failure.inner_text() if failure.count() else "(no failure shown)"


@pytest.mark.parametrize("viewport", ["desktop", "phone"], indirect=True)
def test_request_approve_watch_the_build_then_destroy(
    log_in, shots, viewport, sandbox, aws_latency, sandbox_zone, workers, alice, bob, carol
):
    def published(name: str) -> str:
        """The README's screenshot names; on the phone a few, with a `phone-` prefix."""
        if viewport["width"] >= 1000:
            return name
        return f"phone-{name}" if name in ("request-form.png", "live-progress.png") else ""

    # --- alice requests an environment through the form, after previewing its plan -------------
    alice_ = log_in("alice")
    page = alice_.page
    # On the desktop alice chose her key pair; on the phone she left the default (none).
    key_name = "alice-laptop" if viewport["width"] >= 1000 else ""
    if key_name:
        sandbox_ec2(sandbox, sandbox_zone.region).create_key_pair(KeyName=key_name)
        cache.clear()  # the panel keeps a region's key pairs a minute; this one is new

    previewed_hash = request_through_the_form(page, name="edge-demo", zone_name=sandbox_zone.name, key_name=key_name)
    shots(page, "01-request-form", publish=published("request-form.png"))
    request_id = submit_request(page)
    env_request = EnvironmentRequest.objects.get(pk=request_id)
    assert env_request.requester == alice and env_request.instance_type == "t3.medium"
    assert env_request.plan_hash == previewed_hash

    # --- bob, who logged in a while ago, approves it from his queue -------------------------------
    bob_ = log_in("bob")
    bob_.session_age(3600)
    approvals = bob_.page
    approvals.goto("/approvals/")
    expect(approvals.get_by_test_id("nav-approvals")).to_have_text("1")
    assert_fits(approvals)
    shots(approvals, "02-approval-queue", publish=published("approval-queue.png"))
    approvals.get_by_role("link", name="edge-demo").click()
    expect(approvals).to_have_url(bob_.url(f"/requests/{request_id}/"))
    decision = approvals.get_by_test_id("decision")
    expect(decision).to_contain_text("You will be asked for your password first")
    # The page binds the approval to the hash of the plan it shows: the one alice previewed.
    assert decision.locator("input[name=plan_hash]").input_value() == previewed_hash
    decision.locator("textarea[name=comment]").fill("Looks right: default network, t3.medium.")
    assert_fits(approvals)
    shots(approvals, "02-approval-request", publish=published("approval.png"))
    decision.get_by_role("button", name="Approve and build").click()
    assert bob_.confirm_password_if_asked(), f"expected the re-auth prompt, got {approvals.url}"
    expect(approvals).to_have_url(bob_.url(f"/requests/{request_id}/"))
    with approvals.expect_request(lambda r: r.method == "POST" and r.url.endswith("/approve/")) as sent:
        approvals.get_by_test_id("decision").get_by_role("button", name="Approve and build").click()
    assert f"plan_hash={previewed_hash}" in sent.value.post_data
    expect(approvals).to_have_url(ENVIRONMENT_URL)
    environment_id = int(ENVIRONMENT_URL.search(approvals.url).group(1))
    env_request.refresh_from_db()
    assert env_request.state == "approved" and env_request.decided_by == bob

    # --- alice watches the build live: htmx polls the progress fragment, the test never reloads -----
    progress_responses = []
    page.on(
        "response",
        lambda response: (
            progress_responses.append(response.status)
            if f"/environments/{environment_id}/progress/" in response.url
            else None
        ),
    )
    page.goto(f"/environments/{environment_id}/")
    expect(page.locator("#step-progress")).to_be_visible()
    if page.locator(STATE_BADGE).get_attribute("data-state") == "provisioning":
        expect(page.locator("#step-progress .live-dot")).to_be_visible()
        # A mid-build picture: some steps done, some not (or the build already over).
        page.wait_for_function(MID_BUILD_JS, timeout=BUILD)
        assert_fits(page)
        shots(page, "03-live-progress", publish=published("live-progress.png"))
    state = wait_for_settled_state(page, "ready", "failed")
    assert state == "ready", failure_text(page)
    assert progress_responses, "the page never polled: was the build over before alice opened it?"
    assert all(status in (200, 286) for status in progress_responses), progress_responses
    assert 286 in progress_responses, "polling never stopped by itself once the build settled"

    expect(page.locator("#step-progress .live-dot")).to_have_count(0)
    steps = Environment.objects.get(pk=environment_id).resources.count()
    expect(page.locator("#step-progress")).to_contain_text(f"{steps} of {steps} steps done")
    # The Wavelength route table sends 0.0.0.0/0 to the carrier gateway that was built.
    carrier_gateway = Environment.objects.get(pk=environment_id).resources.get(key="carrier_gateway").aws_id
    assert carrier_gateway.startswith("cagw-")
    default_routes = page.locator(
        "#route-tables tr", has=page.locator("td.mono", has_text=re.compile(r"^0\.0\.0\.0/0$"))
    )
    expect(default_routes.filter(has_text=carrier_gateway)).to_have_count(1)
    expect(default_routes.filter(has_text=carrier_gateway)).to_contain_text("active")
    # On the sandbox, AWS ids link to its inventory of this environment, which lists what was built.
    inventory = page.locator("#route-tables h3 a").first.get_attribute("href")
    assert inventory == f"{sandbox.url}/_sandbox/inventory?tag=wlpanel:environment={environment_id}"
    assert carrier_gateway in requests.get(inventory, timeout=10).text
    # The allowed-traffic matrix and the topology diagram are there, computed from what was described.
    matrix = page.locator("#traffic-matrix table.matrix")
    expect(matrix).to_be_visible()
    expect(matrix.locator("td.allow").first).to_be_visible()
    expect(page.get_by_test_id("traffic-pending")).to_have_count(0)
    expect(page.locator("#topology svg")).to_be_visible()
    expect(page.locator("#topology svg text").first).to_be_visible()
    # SSH instructions only when they can work, naming what exists: the bastion's public address and
    # the instance's private one as the sandbox describes them. Without a key pair: what is missing.
    if key_name:
        described = {
            r.key: r.described for r in Environment.objects.get(pk=environment_id).resources.filter(key__in=["bastion", "wavelength_instance"])
        }
        bastion_ip, instance_ip = described["bastion"]["PublicIpAddress"], described["wavelength_instance"]["PrivateIpAddress"]
        expect(page.get_by_test_id("ssh-commands")).to_have_text(
            f"ssh-add ~/.ssh/{key_name}.pem   # the private key of key pair {key_name}\n"
            f"ssh -J ec2-user@{bastion_ip} ec2-user@{instance_ip}"
        )
        expect(page.get_by_test_id("ssh-missing")).to_have_count(0)
        # The path those commands take carries real packets in the sandbox's network lab (root, as
        # in CI): the instance's TCP 22 answers the bastion, across the VPC's local route.
        built = {r.key: r.aws_id for r in Environment.objects.get(pk=environment_id).resources.all()}
        ssh = Control(sandbox.url).probe(built["vpc"], built["bastion"], "tcp", instance_ip, 22, timeout=2)
        assert ssh["passed"] and ssh["reply"] == f"SSH-2.0-wlpanel-lab-{built['wavelength_instance']}", ssh
    else:
        expect(page.get_by_test_id("ssh-missing")).to_contain_text("No EC2 key pair was chosen")
        expect(page.get_by_test_id("ssh-commands")).to_have_count(0)
    shown = traffic_matrix(page)
    assert len(shown) >= 6 and all(set(cells) == {"TCP", "UDP", "ICMP"} for cells in shown.values()), shown
    # One "why" per row, each rule once (not the same lines under each protocol).
    why = traffic_why(page)
    assert all(reasons and len(reasons) == len(set(reasons)) for reasons in why.values()), why
    # The carrier network of the zone's metro reaches the instance (default: all protocols).
    assert all(
        cell["allowed"]
        for cell in shown["Carrier network (same metro & carrier) -> Wavelength instance"].values()
    )
    # Both security groups allow everything from the VPC: the region subnet and the instance talk freely.
    # Checked at the end of the test (see below) so that a wrong matrix does not hide the teardown.
    inside_the_vpc = {
        pair: {protocol: cell for protocol, cell in shown[pair].items() if not cell["allowed"]}
        for pair in (
            "Region subnet (same VPC) -> Wavelength instance",
            "Wavelength instance -> Region subnet (same VPC)",
        )
    }
    assert_fits(page)
    shots(page, "04-ready", publish=published("environment-ready.png"))
    if viewport["width"] < 1000:  # what a phone shows first: the state, expiry and how to connect
        shots(page, "04-ready-phone-screen", full_page=False, publish="phone-environment-ready.png")
    shots(page.locator("#route-tables"), "04-ready-route-tables", publish=published("environment-ready-route-tables.png"))
    shots(page.locator("#traffic-matrix"), "04-ready-traffic", publish=published("environment-ready-traffic.png"))

    # --- carol, the auditor, sees it all and can change nothing -----------------------------------
    carol_ = log_in("carol")
    audit = carol_.page
    audit.goto(f"/environments/{environment_id}/")
    expect(audit.locator(STATE_BADGE)).to_have_attribute("data-state", "ready")
    expect(audit.locator("#route-tables")).to_contain_text(carrier_gateway)
    expect(audit.locator("#topology svg")).to_be_visible()
    expect(audit.get_by_test_id("actions").locator("a, button")).to_have_count(0)
    expect(audit.locator("form[action$='/extend/']")).to_have_count(0)
    assert (
        carol_.post(f"/environments/{environment_id}/destroy/", {"confirm_name": "edge-demo"}).status == 403
    )
    assert carol_.post(f"/environments/{environment_id}/refresh/").status == 403
    assert_fits(audit)
    shots(audit, "05-auditor-environment", publish=published("auditor-environment.png"))
    audit.goto("/environments/")
    expect(audit.get_by_role("link", name="edge-demo")).to_be_visible()
    audit.goto(f"/requests/{request_id}/")
    expect(audit.locator(STATE_BADGE)).to_have_attribute("data-state", "approved")
    expect(audit.get_by_test_id("decision")).to_have_count(0)
    shots(audit, "05-auditor-request")
    # The audit review: the four-eyes decision and bob's password confirmation, under his name.
    audit.goto(reverse("audit:event_list"))
    expect(audit.locator("tr", has_text="request.approved")).to_contain_text("bob")
    expect(audit.locator("tr", has_text="user.reauthenticated")).to_contain_text("bob")
    expect(audit.locator("tr", has_text="environment.ready")).to_contain_text("edge-demo")
    assert_fits(audit)
    shots(audit, "06-audit-review", publish=published("audit-review.png"))

    # --- alice destroys it, confirming by name, and watches the teardown ----------------------------
    # AWS's latency was there to watch the build step by step; the teardown is watched to its end only.
    requests.delete(f"{sandbox.url}/_sandbox/latency", timeout=10).raise_for_status()
    page.get_by_role("link", name="Destroy…").click()
    alice_.confirm_password_if_asked()
    expect(page).to_have_url(alice_.url(f"/environments/{environment_id}/destroy/"))
    page.fill("#id_confirm_name", "edge-dem")
    page.click("button:has-text('Destroy edge-demo')")
    expect(page.locator("#field-confirm_name .field-error")).to_contain_text("edge-demo")
    page.fill("#id_confirm_name", "edge-demo")
    page.fill("#id_reason", "Browser test done")
    page.click("button:has-text('Destroy edge-demo')")
    expect(page).to_have_url(alice_.url(f"/environments/{environment_id}/"))
    state = wait_for_settled_state(page, "destroyed", "destroy_failed")
    assert state == "destroyed", failure_text(page)
    expect(page.get_by_test_id("actions").get_by_role("link", name="Destroy…")).to_have_count(0)
    assert_fits(page)
    shots(page, "07-destroyed")
    assert sandbox_inventory(sandbox, environment_id) == []

    assert inside_the_vpc == {pair: {} for pair in inside_the_vpc}, (
        f"traffic inside the VPC shown as denied on the ready environment: {inside_the_vpc}"
    )


def test_nobody_approves_their_own_request_and_the_auditor_only_reads(
    log_in, shots, sandbox_zone, bob, carol
):
    # bob is an approver of the team, and he requests an environment himself.
    bob_ = log_in("bob")
    page = bob_.page
    request_through_the_form(page, name="bob-own", zone_name=sandbox_zone.name)
    request_id = submit_request(page)
    expect(page.get_by_test_id("decision")).to_have_count(0)
    expect(page.locator("main")).to_contain_text("nobody approves their own request")
    shots(page, "01-own-request")
    page.goto("/approvals/")
    expect(page.locator("main")).to_contain_text("Nothing waits for your approval")
    expect(page.get_by_test_id("nav-approvals")).to_have_count(0)
    # A hand-made POST is refused by the service, not just hidden by the page.
    plan_hash = EnvironmentRequest.objects.get(pk=request_id).plan_hash
    answer = bob_.post(f"/requests/{request_id}/approve/", {"plan_hash": plan_hash})
    assert answer.status == 403, (answer.status, answer.text()[:300])

    # carol sees the pending request, with no way to decide on it.
    carol_ = log_in("carol")
    audit = carol_.page
    audit.goto("/requests/")
    audit.get_by_role("link", name="bob-own").click()
    expect(audit.locator(STATE_BADGE)).to_have_attribute("data-state", "pending")
    expect(audit.locator("main")).to_contain_text("Requested by bob")
    expect(audit.get_by_test_id("decision")).to_have_count(0)
    expect(audit.locator("main form")).to_have_count(0)
    shots(audit, "02-auditor-request")
    answer = carol_.post(f"/requests/{request_id}/approve/", {"plan_hash": plan_hash})
    assert answer.status == 403, (answer.status, answer.text()[:300])
    answer = carol_.post(f"/requests/{request_id}/cancel/")
    assert answer.status in (302, 403)

    assert EnvironmentRequest.objects.get(pk=request_id).state == "pending"
    assert not Environment.objects.filter(request_id=request_id).exists()
