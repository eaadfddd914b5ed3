"""The client factory: endpoint, retry mode, the call log and the audit of mutating calls."""

import time

import pytest

from audit.models import AuditEvent, AwsCall
from aws import client
from aws.client import CallContext, ec2_client, public_params

pytestmark = pytest.mark.django_db(transaction=True)

CONTEXT = CallContext(environment_id=42, resource_key="vpc", correlation_id="corr-1", cause_event_id=7)


def test_every_call_is_logged_with_its_context_and_mutating_calls_are_audited(sandbox):
    ec2 = ec2_client("us-west-2", context=CONTEXT)
    assert ec2.meta.config.retries["mode"] == "standard"
    vpc_id = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ec2.describe_vpcs(VpcIds=[vpc_id])
    with pytest.raises(client.ClientError):
        ec2.describe_vpcs(VpcIds=["vpc-00000000000000000"])

    intent, create, describe, missing = AwsCall.objects.order_by("id")
    # Write-ahead: the mutating call's intent was committed before it was sent, its outcome after.
    assert (intent.operation, intent.outcome, intent.mutating, intent.http_status) == ("CreateVpc", "intent", True, None)
    assert intent.params == {"CidrBlock": "10.9.0.0/16"} and intent.environment_id == 42
    assert (create.operation, create.outcome, create.mutating, create.http_status) == ("CreateVpc", "ok", True, 200)
    assert create.params == {"CidrBlock": "10.9.0.0/16"}
    assert create.request_id and create.duration_ms >= 0 and create.region == "us-west-2"
    assert (create.environment_id, create.resource_key, create.correlation_id, create.cause_event_id) == (42, "vpc", "corr-1", 7)
    assert (describe.operation, describe.mutating) == ("DescribeVpcs", False)
    assert (missing.outcome, missing.http_status) == ("InvalidVpcID.NotFound", 400)
    audited = AuditEvent.objects.get(action="aws.CreateVpc")
    assert audited.source == "worker" and audited.environment_id == 42 and audited.correlation_id == "corr-1"
    assert audited.details["cause_event_id"] == 7
    assert not AuditEvent.objects.filter(action="aws.DescribeVpcs").exists()


def test_user_data_and_secret_looking_parameters_never_reach_the_log():
    params = {
        "ImageId": "ami-1",
        "UserData": "IyEvYmluL3NoCg==",
        "ClientToken": "kept",
        "Nested": {"SecretAccessKey": "x", "Password": "y", "Kept": 1},
    }
    assert public_params(params) == {"ImageId": "ami-1", "ClientToken": "kept", "Nested": {"Kept": 1}}


def test_a_client_per_step_is_cheap_once_the_session_is_warm(sandbox):
    ec2_client("us-west-2", context=CONTEXT)
    started = time.perf_counter()
    for _ in range(20):
        ec2_client("us-west-2", context=CONTEXT)
    per_client = (time.perf_counter() - started) / 20
    print(f"client creation: {per_client * 1000:.1f} ms")
    assert per_client < 0.005


def test_an_audited_call_names_what_it_created_and_the_environments_team(sandbox, origin, alice, team):
    """The audit review finds an AWS call by the id or address it created, and under the team."""
    from audit.selectors import AuditFilter, audit_events_filter

    # The environment's trail names its team (as request.approved / environment.created do).
    origin(alice).record(action="environment.created", target=None, target_repr="edge", team_slug=team.slug, environment_id=42)
    ec2 = ec2_client("us-west-2", context=CONTEXT)
    vpc_id = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
    audited = AuditEvent.objects.get(action="aws.CreateVpc")
    assert audited.team_slug == "demo"
    assert audited.details["result"]["VpcId"] == vpc_id
    found = audit_events_filter(AuditEvent.objects.all(), AuditFilter(q=vpc_id, team="demo"))
    assert list(found.values_list("action", flat=True)) == ["aws.CreateVpc"]
    # A call for no environment stays team-less.
    ec2_client("us-west-2", context=CallContext()).create_vpc(CidrBlock="10.7.0.0/16")
    assert AuditEvent.objects.filter(action="aws.CreateVpc", team_slug="").count() == 1


def test_creates_without_a_client_token_are_never_retried_by_the_sdk(sandbox, settings):
    import requests

    settings.WLPANEL_AWS_READ_TIMEOUT = 0.5
    control = f"{sandbox.url}/_sandbox"
    requests.post(f"{control}/latency", json={"action": "CreateVpc", "ms": 900}, timeout=10).raise_for_status()
    requests.post(f"{control}/latency", json={"action": "DescribeVpcs", "ms": 900}, timeout=10).raise_for_status()
    ec2 = ec2_client("us-west-2", context=CONTEXT)
    with pytest.raises(client.NO_ANSWER_ERRORS):
        ec2.create_vpc(CidrBlock="10.8.0.0/16")
    with pytest.raises(client.NO_ANSWER_ERRORS):
        ec2.describe_vpcs()
    time.sleep(1)  # let the sandbox finish the calls the client gave up on
    counts = requests.get(f"{control}/calls", timeout=10).json()["counts"]
    assert counts["CreateVpc"] == 1  # one attempt: a second could make a second VPC
    assert counts["DescribeVpcs"] == 6  # reads keep botocore's retries (5 after the first try)


def test_no_mutating_call_is_sent_that_the_call_log_cannot_hold(sandbox):
    import socket

    import requests
    from django.db import connection

    ec2 = ec2_client("us-west-2", context=CONTEXT)
    ec2.describe_vpcs()  # the client is warm; now the database goes away
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port))
    try:
        with pytest.raises(client.CallNotRecorded):
            ec2.create_vpc(CidrBlock="10.7.0.0/16")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
    counts = requests.get(f"{sandbox.url}/_sandbox/calls", timeout=10).json()["counts"]
    assert "CreateVpc" not in counts  # never sent
