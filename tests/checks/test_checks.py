"""Connectivity checks end to end: a real build by real workers on the sandbox, the automatic run
through SSM Run Command into the sandbox's lab (real packets), then a fault and a run on demand.
"""

import re

import pytest
from django.test import Client

from accounts.services import api_token_issue
from audit.models import AuditEvent
from checks.models import CheckRun
from checks.planning import cell_verdicts
from notify.models import Notification
from sandbox.lab import netns
from tests.conftest import wait_for
from tests.provisioning.conftest import wait_for_state

pytestmark = pytest.mark.workers


def api(user):
    client, token = Client(), api_token_issue(user=user)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    return (
        lambda path: client.get(f"/api{path}", **headers),
        lambda path: client.post(f"/api{path}", {}, content_type="application/json", **headers),
    )


def finished_run(environment, previous: int | None = None) -> CheckRun:
    def done():
        run = CheckRun.objects.filter(environment=environment).exclude(pk=previous).first()
        return run if run is not None and run.state != "running" else None

    return wait_for(done, timeout=180, interval=0.5, message="the check run to finish")


def items_of(payload: dict, source: str, destination: str, protocol: str) -> list[dict]:
    return [
        item
        for item in payload["items"]
        if (item["source"], item["destination"], item["protocol"]) == (source, destination, protocol)
    ]


def test_fresh_environment_agrees_with_real_packets_then_a_fault_is_found(
    engine_worker, make_environment, control, alice, bob, carol, make_user, other_team, monkeypatch
):
    engine_worker(WLPANEL_CHECKS_AUTOMATIC="1")
    environment = make_environment("checked")
    wait_for_state(environment, "ready", "failed", timeout=90)
    assert environment.state == "ready", environment.failure_reason

    # The automatic run, once, by the worker that finished the build.
    run = finished_run(environment)
    assert run.automatic and run.state == "done" and run.method == "lab"
    get, post = api(alice)
    payload = get(f"/environments/{environment.pk}/checks").json()
    assert payload["run_id"] == run.pk and payload["agrees"] is True, payload["detail"]
    assert payload["plan_hash"] == environment.plan_hash
    verdicts = cell_verdicts(payload["items"])
    # Every cell with a lab host at both ends is verified; none is contradicted or left out.
    assert {cell["verdict"] for cell in verdicts.values()} == {"verified"}
    assert len(verdicts) == 8 * 3
    assert all(item["verifiable"] and item["observed"] == item["expected"] for item in payload["items"])

    resources = {r.key: r for r in environment.resources.all()}
    wl_ip = resources["wavelength_instance"].described["PrivateIpAddress"]
    bastion_ip = resources["bastion"].described["PrivateIpAddress"]
    carrier_ip = resources["carrier_ip"].described["CarrierIp"]
    # The seed's three observations, with the lab's evidence.
    (ping,) = items_of(payload, "region-subnet", "wavelength-instance", "icmp")
    assert ping["observed"] and ping["evidence"]["ttl"] == 62 and ping["evidence"]["rtt_ms"] > 0
    assert f"from {wl_ip}" in ping["evidence"]["output"]
    (ssh,) = items_of(payload, "region-subnet", "wavelength-instance", "tcp")
    assert (
        ssh["port"] == 22 and ssh["observed"] and ssh["evidence"]["reply"].startswith("SSH-2.0-wlpanel-lab-")
    )
    out = {item["port"]: item for item in items_of(payload, "wavelength-instance", "internet", "tcp")}
    assert out[80]["observed"] and out[80]["evidence"]["reply"].startswith("HTTP/1.0 200 OK")
    (inbound_ping,) = items_of(payload, "internet", "wavelength-instance", "icmp")
    assert inbound_ping["observed"] and inbound_ping["evidence"]["target"] == carrier_ip
    (inbound_ssh,) = items_of(payload, "internet", "wavelength-instance", "tcp")
    assert (
        inbound_ssh["expected"] is False
        and inbound_ssh["observed"] is False
        and inbound_ssh["detail"] == "timeout"
    )
    # The listeners saw the probes arrive: SSH from the bastion, HTTP from the Carrier IP.
    logs = control.get(f"labs/{resources['vpc'].aws_id}/listeners")["logs"]
    assert any(
        re.search(rf"tcp 22 from {re.escape(bastion_ip)}:\d+$", line)
        for line in logs[resources["wavelength_instance"].aws_id]
    )
    assert any(f"tcp 80 from {carrier_ip}:" in line for line in logs["internet"])
    # Path MTU measured, not assumed.
    assert payload["measurements"]["path_mtu"]["wavelength-instance→region-subnet"]["mtu"] == 1300
    assert payload["measurements"]["path_mtu"]["wavelength-instance→carrier-metro"]["mtu"] == 1500
    # The run is an audit event bound to the environment and its plan hash.
    event = AuditEvent.objects.get(environment_id=environment.pk, action="checks.done")
    assert event.details["plan_hash"] == environment.plan_hash and event.details["agrees"] is True
    assert event.details["run_id"] == run.pk and event.details["cells"] == {"verified": 24}

    # The environment page marks every cell; an auditor sees it without the button.
    browser = Client()
    browser.force_login(alice)
    page = browser.get(f"/environments/{environment.pk}/").content.decode()
    panel = page[page.index('data-testid="checks-panel"') :]
    assert panel.count('data-verdict="verified"') == 24 and 'data-testid="checks-agree"' in panel
    assert (
        'data-testid="run-checks"' in panel and "wavelength-instance→region-subnet</span> 1300 bytes" in panel
    )
    auditor = Client()
    auditor.force_login(carol)
    seen = auditor.get(f"/environments/{environment.pk}/checks/", HTTP_HX_REQUEST="true")
    assert seen.status_code == 200 and 'data-testid="run-checks"' not in seen.content.decode()
    assert auditor.post(f"/environments/{environment.pk}/checks/", HTTP_HX_REQUEST="true").status_code == 403

    # Who may run checks: not auditors, not other teams.
    assert api(carol)[1](f"/environments/{environment.pk}/checks").status_code == 403
    outsider = make_user("olga", team=other_team, role="member")
    assert api(outsider)[1](f"/environments/{environment.pk}/checks").status_code == 404
    assert not Notification.objects.filter(user=alice, verb="checks.contradicted").exists()

    # A fault in the lab's data plane: the carrier gateway drops everything.
    control.post(f"labs/{resources['vpc'].aws_id}/faults", {"kind": "blackhole-carrier-gateway"})
    started = post(f"/environments/{environment.pk}/checks")
    assert started.status_code == 202
    second = finished_run(environment, previous=run.pk)
    assert second.pk == started.json()["run_id"] and second.requested_by == alice and not second.automatic
    payload = get(f"/environments/{environment.pk}/checks").json()
    assert payload["run_id"] == second.pk and payload["agrees"] is False
    verdicts = cell_verdicts(payload["items"])
    contradicted = {key for key, cell in verdicts.items() if cell["verdict"] == "contradicted"}
    # Every allowed flow through the carrier gateway is now blocked; the VPC's inside is not.
    assert ("wavelength-instance", "internet", "icmp") in contradicted
    assert ("internet", "wavelength-instance", "icmp") in contradicted
    assert ("carrier-metro", "wavelength-instance", "udp") in contradicted
    assert ("wavelength-instance", "carrier-metro", "tcp") in contradicted
    assert not {key for key in contradicted if "region-subnet" in key}
    assert verdicts[("region-subnet", "wavelength-instance", "tcp")]["verdict"] == "verified"
    assert (
        verdicts[("internet", "wavelength-instance", "tcp")]["verdict"] == "verified"
    )  # denied, and still is
    panel = browser.get(f"/environments/{environment.pk}/checks/", HTTP_HX_REQUEST="true").content.decode()
    assert (
        panel.count('data-verdict="contradicted"') == len(contradicted)
        and 'data-testid="checks-disagree"' in panel
    )
    notice = Notification.objects.get(user=alice, verb="checks.contradicted")
    assert notice.link == f"/environments/{environment.pk}/"
    assert re.search(r"contradict the traffic matrix: \d+ cell\(s\) contradict", notice.message)
    event = AuditEvent.objects.filter(environment_id=environment.pk, action="checks.done").latest("id")
    assert event.actor_username == "alice" and event.details["agrees"] is False
    control.delete(f"labs/{resources['vpc'].aws_id}/faults")

    # Without CAP_NET_ADMIN the sandbox has no lab: every probe says so, and the run does not agree.
    monkeypatch.setattr(netns, "has_net_admin", lambda: False)
    started = post(f"/environments/{environment.pk}/checks")
    third = finished_run(environment, previous=second.pk)
    assert third.pk == started.json()["run_id"] and third.state == "done" and third.agrees is False
    assert third.items and {item["detail"] for item in third.items} == {
        "lab unavailable: needs CAP_NET_ADMIN"
    }
    assert not any(item["verifiable"] for item in third.items)
