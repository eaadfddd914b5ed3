"""SSM Run Command (AWS-RunShellScript) on one instance, waited for: the checks' probe channel.

Handles what SSM does right after SendCommand (GetCommandInvocation answers
InvocationDoesNotExist for a moment), Pending/InProgress/Delayed, and instances SSM does not
manage (SendCommand answers InvalidInstanceId: no SSM agent, no instance profile, or not running).
"""

import time
from dataclasses import dataclass

from .client import AccountAccess, CallContext, ClientError, ssm_client

DOCUMENT = "AWS-RunShellScript"
FINAL_STATUSES = frozenset({"Success", "Failed", "Cancelled", "TimedOut", "Cancelling"})
POLL_SECONDS = 0.2


class InstanceNotManaged(Exception):
    """SSM does not manage the instance (no agent or instance profile, or not running)."""


@dataclass(frozen=True)
class CommandResult:
    status: str  # Success, Failed, TimedOut, Cancelled, or "Unfinished" when we stopped waiting
    response_code: int
    stdout: str
    stderr: str


def run_shell_script(
    *,
    region: str,
    instance_id: str,
    commands: list[str],
    context: CallContext,
    wait_seconds: float = 60,
    account: AccountAccess | None = None,
) -> CommandResult:
    client = ssm_client(region, context=context, account=account)
    try:
        command_id = client.send_command(
            InstanceIds=[instance_id],
            DocumentName=DOCUMENT,
            Parameters={"commands": commands},
            TimeoutSeconds=max(30, int(wait_seconds)),
        )["Command"]["CommandId"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "InvalidInstanceId":
            raise InstanceNotManaged(error.response["Error"].get("Message", "")) from error
        raise
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            invocation = client.get_command_invocation(CommandId=command_id, InstanceId=instance_id)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "InvocationDoesNotExist":
                raise
            invocation = None  # SSM has not registered it yet: ask again
        if invocation is not None and invocation["Status"] in FINAL_STATUSES:
            return CommandResult(
                invocation["Status"],
                int(invocation.get("ResponseCode", -1)),
                invocation.get("StandardOutputContent", ""),
                invocation.get("StandardErrorContent", ""),
            )
        if time.monotonic() > deadline:
            return CommandResult("Unfinished", -1, "", f"no result after {wait_seconds:g} s")
        time.sleep(POLL_SECONDS)
