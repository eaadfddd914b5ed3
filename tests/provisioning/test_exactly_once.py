"""Exactly the planned resources, whatever AWS's answers do: lost, late, or "already exists"."""

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from environments.services import environment_destroy
from tests.conftest import origin_of

from .conftest import assert_matches_inventory, wait_for_state

pytestmark = pytest.mark.workers

UNTOKENED_CREATES = ("CreateVpc", "CreateSubnet", "CreateInternetGateway", "CreateSecurityGroup", "AllocateAddress")


def test_creates_answered_after_the_read_timeout_leave_exactly_the_planned_resources(
    engine_worker, make_environment, control, alice
):
    # Every create takes effect, but only after the client has given up waiting for the answer.
    for action in (*UNTOKENED_CREATES, "CreateRouteTable", "CreateCarrierGateway", "RunInstances"):
        control.post("latency", {"action": action, "ms": 1500})
    engine_worker(WLPANEL_AWS_READ_TIMEOUT="1")
    environment = make_environment("late-answers")
    wait_for_state(environment, "ready", "failed", timeout=180, reconcile=True)
    assert environment.state == "ready", environment.failure_reason
    assert_matches_inventory(environment, control)
    counts = control.get("calls")["counts"]
    planned = {"CreateVpc": 1, "CreateSubnet": 2, "CreateInternetGateway": 1, "CreateSecurityGroup": 2, "AllocateAddress": 1}
    assert {action: counts.get(action) for action in UNTOKENED_CREATES} == planned

    control.delete("latency")
    environment_destroy(origin=origin_of(alice), environment_id=environment.pk)
    wait_for_state(environment, "destroyed", "destroy_failed", timeout=90, reconcile=True)
    assert environment.state == "destroyed", environment.failure_reason
    assert control.inventory(environment.pk) == []


def test_duplicates_found_by_the_step_tag_are_reduced_to_one_and_audited(engine_worker, make_environment, control):
    environment = make_environment("twins")  # its build waits for a worker
    vpc = environment.resources.get(key="vpc")
    # Two VPCs carry the step's tags (e.g. an SDK retry of a create whose answer was lost).
    ec2 = control.ec2()
    tag_list = [{"Key": key, "Value": value} for key, value in vpc.tags.items()]
    created = [
        ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tag_list}])["Vpc"]["VpcId"]
        for _ in range(2)
    ]
    vpc.create_started_at = timezone.now()  # the engine issued the create and never saw its answer
    vpc.save()

    engine_worker()
    wait_for_state(environment, "ready", "failed", timeout=90, reconcile=True)
    assert environment.state == "ready", environment.failure_reason
    assert_matches_inventory(environment, control)
    vpc.refresh_from_db()
    assert vpc.aws_id == min(created)
    event = AuditEvent.objects.get(environment_id=environment.pk, action="resource.duplicates_deleted")
    assert event.details == {"step": "vpc", "kept": min(created), "deleted": [max(created)]}
    assert event.source == "worker"


def test_another_installation_with_the_same_environment_id_is_never_adopted(
    engine_worker, make_environment, control
):
    environment = make_environment("namespaced")
    vpc = environment.resources.get(key="vpc")
    # Another panel (or this one before its database was re-created) used the same environment id.
    foreign = {**vpc.tags, "wlpanel:installation": "someone-else"}
    ec2 = control.ec2()
    tag_list = [{"Key": key, "Value": value} for key, value in foreign.items()]
    foreign_id = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tag_list}])[
        "Vpc"
    ]["VpcId"]
    vpc.create_started_at = timezone.now() - timezone.timedelta(minutes=5)  # outcome unknown, grace over
    vpc.save()

    engine_worker()
    wait_for_state(environment, "ready", "failed", timeout=90, reconcile=True)
    assert environment.state == "ready", environment.failure_reason
    vpc.refresh_from_db()
    assert vpc.aws_id != foreign_id
    assert ec2.describe_vpcs(VpcIds=[foreign_id])["Vpcs"]  # untouched
    ours = [
        item
        for item in control.inventory(environment.pk)
        if item["tags"].get("wlpanel:installation") != "someone-else" and not item["id"].startswith("vol-")
    ]  # (root volumes carry their instance's tags: they are the instances', not resources of the plan)
    assert sorted(item["id"] for item in ours) == sorted(r.aws_id for r in environment.resources.all())


# --- Teardown proven by inventory -----------------------------------------------------------------


def _tag_list(tags: dict) -> list[dict]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _volumes_tagged(control, environment) -> list[str]:
    filters = [{"Name": "tag:wlpanel:environment", "Values": [str(environment.pk)]}]
    volumes = control.ec2().describe_volumes(Filters=filters)["Volumes"]
    return [volume["VolumeId"] for volume in volumes if volume["State"] not in ("deleting", "deleted")]


def _add_orphans(environment, control) -> dict[str, str]:
    """Resources tagged with the environment that the panel never made (or lost track of)."""
    resources = {resource.key: resource for resource in environment.resources.all()}
    tags = {key: value for key, value in resources["vpc"].tags.items() if key != "wlpanel:resource"}
    tags["wlpanel:resource"] = "added-by-hand"
    ec2 = control.ec2()
    group = ec2.create_security_group(
        GroupName="hand-made",
        Description="not in the plan",
        VpcId=resources["vpc"].aws_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": _tag_list(tags)}],
    )["GroupId"]
    volume = ec2.create_volume(
        AvailabilityZone="us-west-2a", Size=1, TagSpecifications=[{"ResourceType": "volume", "Tags": _tag_list(tags)}]
    )["VolumeId"]
    instance = ec2.run_instances(
        ImageId=resources["wavelength_instance"].progress["image_id"],
        InstanceType="t3.medium",
        MinCount=1,
        MaxCount=1,
        SubnetId=resources["wavelength_subnet"].aws_id,
        TagSpecifications=[{"ResourceType": "instance", "Tags": _tag_list(tags)}],
    )["Instances"][0]["InstanceId"]
    return {"security_group": group, "volume": volume, "instance": instance}


def test_teardown_removes_orphans_and_ends_only_with_an_empty_inventory(engine_worker, make_environment, control, alice):
    engine_worker()
    environment = make_environment("with-orphans", bastion=False)
    wait_for_state(environment, "ready", "failed", timeout=90)
    assert environment.state == "ready", environment.failure_reason
    orphans = _add_orphans(environment, control)

    environment_destroy(origin=origin_of(alice), environment_id=environment.pk)
    wait_for_state(environment, "destroyed", "destroy_failed", timeout=120, reconcile=True)
    assert environment.state == "destroyed", environment.failure_reason
    assert control.inventory(environment.pk) == [] and _volumes_tagged(control, environment) == []
    removed = AuditEvent.objects.filter(environment_id=environment.pk, action="environment.leftovers_removed")
    removed_ids = {item["id"] for event in removed for item in event.details["items"]}
    assert set(orphans.values()) <= removed_ids


def test_what_cannot_be_removed_fails_the_teardown_by_name_and_any_destroyer_may_try_again(
    engine_worker, make_environment, control, alice, bob
):
    engine_worker()
    environment = make_environment("stuck", bastion=False)
    wait_for_state(environment, "ready", "failed", timeout=90)
    orphans = _add_orphans(environment, control)
    control.post("faults", {"action": "DeleteVolume", "code": "UnauthorizedOperation", "status": 403})

    environment_destroy(origin=origin_of(alice), environment_id=environment.pk)
    wait_for_state(environment, "destroyed", "destroy_failed", timeout=120, reconcile=True)
    assert environment.state == "destroy_failed"
    assert environment.failure_code == "UnauthorizedOperation"
    assert orphans["volume"] in environment.failure_reason and "Still in AWS" in environment.failure_reason
    # The rest went; the refused volume stays, and so does the VPC (the teardown stopped before it).
    vpc_id = environment.resources.get(key="vpc").aws_id
    assert sorted(item["id"] for item in control.inventory(environment.pk)) == sorted([vpc_id, orphans["volume"]])
    assert _volumes_tagged(control, environment) == [orphans["volume"]]

    control.delete("faults")
    environment_destroy(origin=origin_of(bob), environment_id=environment.pk)  # an approver, not the owner
    wait_for_state(environment, "destroyed", "destroy_failed", timeout=90, reconcile=True)
    assert environment.state == "destroyed", environment.failure_reason
    assert control.inventory(environment.pk) == [] and _volumes_tagged(control, environment) == []


def test_creates_that_take_effect_then_answer_5xx_leave_exactly_the_planned_resources(
    engine_worker, make_environment, control, alice
):
    for action in (*UNTOKENED_CREATES, "CreateRouteTable", "CreateCarrierGateway", "RunInstances"):
        control.post("faults", {"action": action, "code": "InternalError", "status": 500, "after_effect": True, "count": 1})
    engine_worker()
    environment = make_environment("lost-successes")
    wait_for_state(environment, "ready", "failed", timeout=120, reconcile=True)
    assert environment.state == "ready", environment.failure_reason
    assert_matches_inventory(environment, control)
    assert all(fault["fired"] == 1 for fault in control.get("state")["faults"])

    environment_destroy(origin=origin_of(alice), environment_id=environment.pk)
    wait_for_state(environment, "destroyed", "destroy_failed", timeout=90, reconcile=True)
    assert environment.state == "destroyed" and control.inventory(environment.pk) == []
