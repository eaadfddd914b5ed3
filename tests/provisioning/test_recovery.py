"""Recovery: an instance that died is replaced on Retry; waits are bounded by time, not by polls."""

import pytest

from environments.services import environment_destroy, environment_retry
from tests.conftest import origin_of, wait_for

from .conftest import assert_matches_inventory, wait_for_state

pytestmark = pytest.mark.workers


def test_retry_launches_a_new_instance_when_the_old_one_was_terminated_behind_the_panel(
    engine_worker, make_environment, control, alice
):
    control.post("pending", {"seconds": 4})
    engine_worker()
    environment = make_environment("vanishing", bastion=False)
    instance = environment.resources.get(key="wavelength_instance")

    def launched():
        instance.refresh_from_db()
        return instance.aws_id

    dead_id = wait_for(launched, timeout=60, message="the instance to be launched")
    control.ec2().terminate_instances(InstanceIds=[dead_id])  # someone, not the panel
    wait_for_state(environment, "failed", "ready", timeout=60)
    assert environment.state == "failed"
    assert environment.failure_code == "InstanceNotRunning" and dead_id in environment.failure_reason

    environment_retry(origin=origin_of(alice), environment_id=environment.pk)
    wait_for_state(environment, "ready", "failed", timeout=90, reconcile=True)
    assert environment.state == "ready", environment.failure_reason
    instance.refresh_from_db()
    assert instance.aws_id != dead_id and instance.progress["replaced"] == [dead_id]
    assert_matches_inventory(environment, control)  # the terminated one is not in the inventory

    environment_destroy(origin=origin_of(alice), environment_id=environment.pk)
    wait_for_state(environment, "destroyed", "destroy_failed", timeout=90, reconcile=True)
    assert environment.state == "destroyed" and control.inventory(environment.pk) == []


def test_an_instance_pending_too_long_fails_by_time_with_a_clear_message(engine_worker, make_environment, control):
    control.post("pending", {"seconds": 30})
    engine_worker(WLPANEL_INSTANCE_WAIT_LIMIT_SECONDS="3", WLPANEL_STEP_MAX_ATTEMPTS="2")
    environment = make_environment("slow-start", bastion=False)
    wait_for_state(environment, "failed", "ready", timeout=90)
    assert environment.state == "failed"
    # Many polls happened (every 0.5 s), far beyond the poison guard's 2: only time ended it.
    instance = environment.resources.get(key="wavelength_instance")
    assert instance.attempts > 2
    assert environment.failure_code == "InstancePendingTooLong"
    assert "has been pending for" in environment.failure_reason


def test_a_step_of_a_killed_worker_is_taken_over_before_its_lease_runs_out(engine_worker, make_environment, control):
    # The production lease (120 s): only knowing the holder is dead lets another worker take over early.
    control.post("latency", {"action": "RunInstances", "ms": 2500})
    worker = engine_worker(WLPANEL_STEP_LEASE_SECONDS="120")
    environment = make_environment("killed", bastion=False)
    wait_for(
        lambda: any(call["status"] is None for call in control.calls("RunInstances")),
        timeout=60,
        message="RunInstances in flight",
    )
    instance = environment.resources.get(key="wavelength_instance")
    lease_until = instance.lease_until
    worker.kill()
    control.delete("latency")

    engine_worker(WLPANEL_STEP_LEASE_SECONDS="120")
    wait_for_state(environment, "ready", "failed", timeout=110, reconcile=True)
    assert environment.state == "ready", environment.failure_reason
    instance.refresh_from_db()
    assert instance.finished_at < lease_until  # taken over while the dead worker's lease still ran
    assert_matches_inventory(environment, control)


def test_every_mutating_call_the_sandbox_executed_is_in_the_call_log_despite_kill_9(
    engine_worker, make_environment, control
):
    from audit.models import AuditEvent, AwsCall

    control.post("latency", {"action": "CreateVpc", "ms": 2500})
    worker = engine_worker()
    environment = make_environment("write-ahead", bastion=False)
    wait_for(
        lambda: any(call["status"] is None for call in control.calls("CreateVpc")), timeout=60, message="CreateVpc in flight"
    )
    worker.kill()  # the answer arrives at a dead process: it never writes it
    control.delete("latency")
    engine_worker()
    wait_for_state(environment, "ready", "failed", timeout=90, reconcile=True)
    assert environment.state == "ready", environment.failure_reason

    logged = AwsCall.objects.filter(environment_id=environment.pk, mutating=True)
    executed: dict[str, int] = {}
    for call in control.calls():
        if not call["action"].startswith(("Describe", "Get")) and call["action"] != "ModifyAvailabilityZoneGroup":
            executed[call["action"]] = executed.get(call["action"], 0) + 1
    intents = {action: logged.filter(operation=action, outcome="intent").count() for action in executed}
    assert intents == executed  # zero executed-but-unrecorded calls
    resolved = logged.get(operation="CreateVpc", outcome="resolved")
    intent_id = logged.filter(operation="CreateVpc", outcome="intent").order_by("id").first().pk
    vpc_id = environment.resources.get(key="vpc").aws_id
    assert resolved.error_message.startswith(f"intent #{intent_id}:")
    # What recovery saw depends on whether the sandbox had finished the slow create when the new
    # worker took the step over; either way exactly one VPC exists, and it is the environment's.
    vpcs = control.ec2().describe_vpcs(Filters=[{"Name": "tag:wlpanel:environment", "Values": [str(environment.pk)]}])
    assert [vpc["VpcId"] for vpc in vpcs["Vpcs"]] == [vpc_id]
    assert AuditEvent.objects.filter(environment_id=environment.pk, action="aws.CreateVpc", details__outcome="resolved").exists()
