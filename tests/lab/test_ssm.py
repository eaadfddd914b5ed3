"""The sandbox's SSM Run Command: the product's probe script runs in the lab, nothing else runs."""

import os
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from netmodel.probes import ProbeRequest, read_probe_output
from sandbox.lab import netns
from sandbox.lab.ssm import NOT_ALLOWED

FINAL = ("Success", "Failed", "Cancelled", "TimedOut")


@pytest.fixture(scope="module")
def ssm(environment, control):
    return boto3.client(
        "ssm",
        region_name=environment["region"],
        endpoint_url=control.url,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )


def run(ssm, instance_id: str, commands: list[str]) -> tuple[dict, list[str]]:
    """Send, then poll as the panel does; returns the final invocation and the statuses seen."""
    command_id = ssm.send_command(
        InstanceIds=[instance_id], DocumentName="AWS-RunShellScript", Parameters={"commands": commands}
    )["Command"]["CommandId"]
    seen = []
    while True:
        try:
            invocation = ssm.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
        except ClientError as error:
            assert error.response["Error"]["Code"] == "InvocationDoesNotExist"
            seen.append("InvocationDoesNotExist")
        else:
            seen.append(invocation["Status"])
            if invocation["Status"] in FINAL:
                return invocation, seen
        time.sleep(0.05)


def test_probe_script_runs_in_the_instance_namespace(ssm, environment, control):
    request = ProbeRequest("icmp", environment["wl_ip"], timeout=1)
    invocation, seen = run(ssm, environment["bastion"], request.shell_commands())
    assert invocation["Status"] == "Success" and invocation["ResponseCode"] == 0
    result = read_probe_output(invocation["StandardOutputContent"])
    assert result["passed"] and result["ttl"] == 62 and f"from {environment['wl_ip']}" in result["output"]
    # Right after sending, SSM does not know the invocation yet; then it moves forward only.
    assert seen[0] == "InvocationDoesNotExist"
    order = ["InvocationDoesNotExist", "Pending", "InProgress", "Success"]
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen)


def test_tcp_probe_through_ssm_reaches_the_listener(ssm, environment, control):
    request = ProbeRequest("tcp", "203.0.113.10", 80, timeout=1)
    invocation, _ = run(ssm, environment["wl_instance"], request.shell_commands())
    result = read_probe_output(invocation["StandardOutputContent"])
    assert result["passed"] and result["reply"].startswith("HTTP/1.0 200 OK")
    logs = control.ok("GET", f"labs/{environment['vpc']}/listeners")["logs"]["internet"]
    assert any(f"tcp 80 from {environment['carrier_ip']}:" in line for line in logs)


def test_anything_but_the_probe_script_is_not_run(ssm, environment, control):
    marker = "/tmp/wlpanel-ssm-must-not-exist"
    invocation, _ = run(ssm, environment["wl_instance"], [f"touch {marker}", "id"])
    assert invocation["Status"] == "Failed" and invocation["StandardErrorContent"] == NOT_ALLOWED
    assert invocation["StandardOutputContent"] == ""
    assert not os.path.exists(marker)
    tampered = ProbeRequest("icmp", "203.0.113.10").shell_commands()
    tampered[1] = "import os; os.system('id'); " + tampered[1]
    invocation, _ = run(ssm, environment["wl_instance"], tampered)
    assert invocation["Status"] == "Failed" and invocation["StandardErrorContent"] == NOT_ALLOWED


def test_unknown_instance_is_refused(ssm):
    with pytest.raises(ClientError) as refused:
        ssm.send_command(
            InstanceIds=["i-0123456789abcdef0"],
            DocumentName="AWS-RunShellScript",
            Parameters={"commands": ProbeRequest("icmp", "203.0.113.10").shell_commands()},
        )
    assert refused.value.response["Error"]["Code"] == "InvalidInstanceId"


def test_without_cap_net_admin_the_invocation_fails_and_says_why(ssm, environment, monkeypatch):
    monkeypatch.setattr(netns, "has_net_admin", lambda: False)
    invocation, _ = run(
        ssm, environment["wl_instance"], ProbeRequest("icmp", "203.0.113.10").shell_commands()
    )
    assert invocation["Status"] == "Failed"
    assert invocation["StandardErrorContent"] == "lab unavailable: needs CAP_NET_ADMIN"
