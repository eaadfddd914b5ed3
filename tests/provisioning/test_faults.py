"""What real AWS does to a provisioning system: throttling, eventual consistency, no capacity."""

import pytest

from audit.models import AuditEvent
from aws.errors import CAPACITY_HINT
from environments.services import environment_destroy
from tests.conftest import SFO, origin_of

from .conftest import assert_matches_inventory, wait_for_state

pytestmark = pytest.mark.workers


THROTTLES = 10


def test_throttling_and_eventual_consistency_still_build_everything(engine_worker, make_environment, control):
    # A burst of throttles on any kind of call, then none: each one cuts the rate the panel learned
    # (aws/rate.py), which climbs back slowly. An endless 10 % kept the rates near their floor and the
    # builds at 30-120 s; these ten leave them at 25-30 s.
    throttle = control.post(
        "faults", {"action": "*", "code": "RequestLimitExceeded", "status": 503, "rate": 0.2, "count": THROTTLES}
    )
    control.post("consistency", {"seconds": 2})
    engine_worker(concurrency=6)
    environments = [make_environment(f"rough-{number}") for number in range(3)]
    for environment in environments:
        wait_for_state(environment, "ready", "failed", timeout=120, reconcile=True)
        assert environment.state == "ready", environment.failure_reason
    for environment in environments:
        assert_matches_inventory(environment, control)
    codes = {call["code"] for call in control.calls()}
    assert "RequestLimitExceeded" in codes and any(code and code.endswith(".NotFound") for code in codes)
    fired = {fault["id"]: fault["fired"] for fault in control.get("state")["faults"]}
    assert fired[throttle["id"]] == THROTTLES


def test_no_capacity_fails_with_a_hint_and_teardown_leaves_nothing(engine_worker, make_environment, control, alice):
    control.post("faults", {"preset": "capacity", "zone": SFO})
    engine_worker()
    environment = make_environment("full-zone", bastion=False)
    wait_for_state(environment, "failed", "ready", timeout=120)
    assert environment.state == "failed"
    assert environment.failure_code == "InsufficientInstanceCapacity"
    assert environment.failure_reason.startswith("Wavelength instance: ")
    assert "capacity" in environment.failure_reason.lower()
    assert environment.failure_hint == CAPACITY_HINT
    instance = environment.resources.get(key="wavelength_instance")
    assert instance.state == "failed" and instance.progress["capacity_attempts"] == 2
    failed = AuditEvent.objects.get(environment_id=environment.pk, action="environment.failed")
    assert failed.source == "worker" and failed.details["code"] == "InsufficientInstanceCapacity"

    control.delete("faults")
    environment_destroy(origin=origin_of(alice), environment_id=environment.pk)
    wait_for_state(environment, "destroyed", "destroy_failed", timeout=60)
    assert environment.state == "destroyed"
    assert control.inventory(environment.pk) == []


def test_a_build_over_a_quota_fails_naming_the_quota_and_how_to_raise_it(engine_worker, make_environment, control, alice):
    # AWS's default of 5 VPCs per Region, the default VPC and four others already there.
    ec2 = control.ec2()
    for number in range(4):
        ec2.create_vpc(CidrBlock=f"10.{100 + number}.0.0/16")
    engine_worker()
    environment = make_environment("over-quota", bastion=False)
    wait_for_state(environment, "failed", "ready", timeout=120)

    assert environment.state == "failed"
    assert environment.failure_code == "VpcLimitExceeded"
    assert "The maximum number of VPCs has been reached." in environment.failure_reason
    assert "VPCs per Region" in environment.failure_hint and "L-F678F1CE" in environment.failure_hint
    assert "request-service-quota-increase" in environment.failure_hint

    control.post("quotas", {"quota_code": "L-F678F1CE", "value": 6})
    environment_destroy(origin=origin_of(alice), environment_id=environment.pk)
    wait_for_state(environment, "destroyed", "destroy_failed", timeout=60)
    assert environment.state == "destroyed"


def test_a_carrier_ip_over_its_limit_is_foreseen_and_the_build_fails_naming_it(engine_worker, make_environment, control, alice):
    from quotas.selectors import plan_preflight
    from quotas.services import quota_snapshot_refresh

    control.post("quotas", {"quota_code": "L-CARRIER-IPS", "value": 0})
    engine_worker()
    environment = make_environment("no-carrier-ip", bastion=False)
    quota_snapshot_refresh(region=environment.region)
    foreseen = plan_preflight(environment.plan, refresh=False)
    carrier_ips = next(item for item in foreseen["items"] if item["quota_code"] == "L-CARRIER-IPS")
    assert foreseen["fits"] is False and (carrier_ips["limit"], carrier_ips["needs"], carrier_ips["fits"]) == (0, 1, False)
    wait_for_state(environment, "failed", "ready", timeout=120)

    assert environment.state == "failed"
    assert environment.failure_code == "AddressLimitExceeded"
    assert environment.failure_reason.startswith("Carrier IP: ")
    assert environment.failure_hint.startswith("The account has reached its limit of Carrier IPs")
    assert "AWS Support" in environment.failure_hint

    environment_destroy(origin=origin_of(alice), environment_id=environment.pk)
    wait_for_state(environment, "destroyed", "destroy_failed", timeout=60)
    assert environment.state == "destroyed"
    assert control.inventory(environment.pk) == []
