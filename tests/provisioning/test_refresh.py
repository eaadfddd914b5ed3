"""Drift refresh: a resource deleted behind the app's back is `missing`; extra tagged ones are orphans."""

import pytest

from audit.models import AuditEvent
from environments.provisioning.refresh import environment_describe

from .conftest import wait_for_state

pytestmark = pytest.mark.workers


def test_refresh_finds_missing_changed_and_orphaned_resources(engine_worker, make_environment, control):
    engine_worker()
    environment = make_environment("drifty", bastion=False)
    wait_for_state(environment, "ready", "failed")
    assert environment.state == "ready", environment.failure_reason
    resources = {resource.key: resource for resource in environment.resources.all()}

    ec2 = control.ec2()
    address = resources["carrier_ip"].described
    ec2.disassociate_address(AssociationId=address["AssociationId"])
    ec2.release_address(AllocationId=address["AllocationId"], NetworkBorderGroup=address["NetworkBorderGroup"])
    table = resources["wavelength_route_table"]
    ec2.delete_route(RouteTableId=table.aws_id, DestinationCidrBlock="0.0.0.0/0")
    # Tagged with this installation's environment (another installation's resources are not ours).
    stray_tags = {key: resources["vpc"].tags[key] for key in ("wlpanel:installation", "wlpanel:environment")}
    stray = ec2.create_security_group(
        GroupName="stray",
        Description="made by hand",
        VpcId=resources["vpc"].aws_id,
        TagSpecifications=[
            {"ResourceType": "security-group", "Tags": [{"Key": k, "Value": v} for k, v in stray_tags.items()]}
        ],
    )["GroupId"]

    environment_describe(environment.pk, correlation_id="refresh-test")
    environment.refresh_from_db()
    drift = dict(environment.resources.values_list("key", "drift"))
    assert drift["carrier_ip"] == "missing"
    assert drift["wavelength_route_table"] == "changed"
    assert drift["vpc"] == drift["wavelength_instance"] == drift["wavelength_sg"] == ""
    assert environment.orphans == [{"type": "security_group", "id": stray, "tags": stray_tags}]
    assert environment.described_at is not None
    assert environment.resources.get(key="carrier_ip").described is None
    event = AuditEvent.objects.get(environment_id=environment.pk, action="environment.refreshed")
    assert event.correlation_id == "refresh-test" and event.details["missing"] == ["carrier_ip"]


def test_refresh_task_runs_on_a_worker(engine_worker, make_environment, alice):
    from audit.context import Origin
    from environments.services import environment_refresh

    engine_worker()
    environment = make_environment("refreshed", bastion=False)
    wait_for_state(environment, "ready", "failed")
    environment_refresh(origin=Origin(user=alice, source="web"), environment_id=environment.pk)

    from tests.conftest import wait_for

    def described():
        environment.refresh_from_db()
        return environment.described_at
    wait_for(described, timeout=30, message="the refresh to run")
