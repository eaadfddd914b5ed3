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


def test_refresh_sees_rules_acls_instance_state_and_carrier_ip_and_never_writes_under_a_steps_lease(
    engine_worker, make_environment, control
):
    from datetime import timedelta

    from django.utils import timezone

    from environments.models import Resource

    engine_worker()
    environment = make_environment("changed-by-hand", bastion=False)
    wait_for_state(environment, "ready", "failed")
    assert environment.state == "ready", environment.failure_reason
    resources = {resource.key: resource for resource in environment.resources.all()}
    ec2 = control.ec2()
    ec2.authorize_security_group_ingress(
        GroupId=resources["wavelength_sg"].aws_id,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "198.51.100.0/24"}]}],
    )
    acl_id = resources["vpc"].described["NetworkAcls"][0]["NetworkAclId"]
    ec2.create_network_acl_entry(
        NetworkAclId=acl_id, RuleNumber=50, Protocol="6", RuleAction="deny", Egress=False,
        CidrBlock="0.0.0.0/0", PortRange={"From": 443, "To": 443},
    )  # fmt: skip
    ec2.stop_instances(InstanceIds=[resources["wavelength_instance"].aws_id])
    ec2.disassociate_address(AssociationId=resources["carrier_ip"].described["AssociationId"])
    # A step holds the carrier gateway's lease (as during an operation): a refresh leaves it alone.
    held_until = timezone.now() + timedelta(minutes=1)
    Resource.objects.filter(pk=resources["carrier_gateway"].pk).update(lease_owner="a-step", lease_until=held_until)
    described_before = resources["carrier_gateway"].described_at

    environment_describe(environment.pk, correlation_id="drift-test")
    changed = {r.key: r for r in environment.resources.all()}
    assert {key for key, r in changed.items() if r.drift} == {"wavelength_sg", "vpc", "wavelength_instance", "carrier_ip"}
    assert changed["wavelength_sg"].progress["drift_reasons"] == ["rule added: tcp 22-22 from 198.51.100.0/24"]
    assert any("rule 50 deny" in reason and "added" in reason for reason in changed["vpc"].progress["drift_reasons"])
    assert changed["wavelength_instance"].progress["drift_reasons"][0].startswith("instance is stopp")
    assert changed["carrier_ip"].progress["drift_reasons"] == ["Carrier IP not associated"]
    assert changed["carrier_gateway"].described_at == described_before  # under a step's lease: untouched
    assert changed["carrier_gateway"].lease_owner == "a-step"
    event = AuditEvent.objects.get(environment_id=environment.pk, action="environment.refreshed")
    assert event.details["busy"] == ["carrier_gateway"]
    assert event.details["reasons"]["carrier_ip"] == ["Carrier IP not associated"]


def test_refresh_is_refused_while_an_operation_runs(make_environment, alice, monkeypatch):
    from celery import current_app

    from audit.context import Origin
    from environments.exceptions import Conflict
    from environments.services import environment_refresh

    monkeypatch.setattr(current_app, "send_task", lambda *args, **kwargs: None)
    environment = make_environment("busy")  # provisioning: its steps describe AWS as they go
    with pytest.raises(Conflict):
        environment_refresh(origin=Origin(user=alice, source="web"), environment_id=environment.pk)
    assert environment_describe(environment.pk).described_at is None  # and a queued refresh does nothing
