"""The sandbox's SSM Run Command for what the product uses: AWS-RunShellScript, run in the lab.

moto's own SendCommand says ``Success`` with empty output for any instance, even one that does
not exist. Here, for ``AWS-RunShellScript``:

- SendCommand checks the instances (unknown, or not running: ``InvalidInstanceId``, as SSM
  answers for instances it does not manage) and answers the command ``Pending``.
- GetCommandInvocation answers ``InvocationDoesNotExist`` right after sending, as SSM does (the
  first ask of each invocation, and any ask in its first 0.3 s), then ``Pending``,
  ``InProgress``, and ``Success`` or ``Failed`` with the output.
- The command runs only when it is exactly the product's probe script (``netmodel.probes``: an
  allow-list, never an arbitrary shell), inside the instance's namespace of the VPC's lab,
  unprivileged, in its own mount and PID namespaces. Anything else ends ``Failed`` unrun.
  Without CAP_NET_ADMIN it ends ``Failed`` with "lab unavailable: needs CAP_NET_ADMIN".

Other documents and other SSM actions go to moto as before.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import ec2_backends

from netmodel.probes import parse_shell_commands

from .netns import LabUnavailable

log = logging.getLogger("sandbox.lab")

DOCUMENT = "AWS-RunShellScript"
ACTIONS = ("SendCommand", "GetCommandInvocation")
# How long an invocation stays invisible after SendCommand (SSM's InvocationDoesNotExist window).
INVISIBLE_SECONDS = 0.3
NOT_ALLOWED = (
    "the sandbox runs only wlpanel's probe script (netmodel.probes.PROBE_SCRIPT) through "
    "AWS-RunShellScript; this command was not run"
)
Answer = tuple[int, list[tuple[str, str]], bytes]


@dataclass
class Invocation:
    command_id: str
    instance_id: str
    vpc_id: str
    commands: list[str]
    comment: str
    visible_at: float
    status: str = "Pending"
    response_code: int = -1
    stdout: str = ""
    stderr: str = ""
    started: str = ""
    ended: str = ""
    elapsed: str = ""
    asked: bool = False
    done: threading.Event = field(default_factory=threading.Event)

    def describe(self) -> dict:
        return {
            "CommandId": self.command_id,
            "InstanceId": self.instance_id,
            "Comment": self.comment,
            "DocumentName": DOCUMENT,
            "DocumentVersion": "$DEFAULT",
            "PluginName": "aws:runShellScript",
            "ResponseCode": self.response_code,
            "ExecutionStartDateTime": self.started,
            "ExecutionElapsedTime": self.elapsed,
            "ExecutionEndDateTime": self.ended,
            "Status": self.status,
            "StatusDetails": self.status,
            "StandardOutputContent": self.stdout,
            "StandardOutputUrl": "",
            "StandardErrorContent": self.stderr,
            "StandardErrorUrl": "",
            "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": False},
        }


class SsmCommands:
    """Run Command invocations of one sandbox, run by a few worker threads in the labs."""

    def __init__(self, labs: Any, moto_lock: threading.RLock, workers: int = 4):
        self.labs = labs
        self.moto_lock = moto_lock
        self._lock = threading.Lock()
        # (account, command id, instance id): another account cannot read an invocation, as on AWS
        self._invocations: dict[tuple[str, str, str], Invocation] = {}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox-ssm")

    def clear(self) -> None:
        with self._lock:
            self._invocations.clear()

    def answer(self, action: str | None, account: str, region: str, environ: dict) -> Answer | None:
        """The answer to an SSM call this module handles, else None (moto answers it)."""
        if action not in ACTIONS or not environ.get("HTTP_X_AMZ_TARGET", "").startswith("AmazonSSM."):
            return None
        body = _json_body(environ)
        if action == "SendCommand":
            if body.get("DocumentName") != DOCUMENT:
                return None
            return self._send(body, account, region)
        return self._get(body, account)

    # --- SendCommand --------------------------------------------------------------------------------

    def _send(self, body: dict, account: str, region: str) -> Answer:
        instance_ids = body.get("InstanceIds") or []
        if not instance_ids or body.get("Targets"):
            return _error("InvalidParameters", "the sandbox's SendCommand takes InstanceIds (not Targets)")
        commands = (body.get("Parameters") or {}).get("commands") or []
        if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
            return _error("InvalidParameters", "Parameters.commands must be a list of strings")
        vpcs = {}
        with self.moto_lock:
            for instance_id in instance_ids:
                vpc_id = _running_instance_vpc(account, region, instance_id)
                if vpc_id is None:
                    return _error(
                        "InvalidInstanceId",
                        f"Instances [[{instance_id}]] not in a valid state for account {account}",
                    )
                vpcs[instance_id] = vpc_id
        command_id = str(uuid.uuid4())
        now = time.time()
        invocations = [
            Invocation(
                command_id,
                instance_id,
                vpcs[instance_id],
                list(commands),
                body.get("Comment", ""),
                visible_at=now + INVISIBLE_SECONDS,
            )
            for instance_id in instance_ids
        ]
        with self._lock:
            for invocation in invocations:
                self._invocations[(account, command_id, invocation.instance_id)] = invocation
        for invocation in invocations:
            self._pool.submit(self._run, invocation)
        return _ok(
            {
                "Command": {
                    "CommandId": command_id,
                    "DocumentName": DOCUMENT,
                    "DocumentVersion": "$DEFAULT",
                    "Comment": body.get("Comment", ""),
                    "Parameters": {"commands": list(commands)},
                    "InstanceIds": list(instance_ids),
                    "Targets": [],
                    "RequestedDateTime": now,
                    "Status": "Pending",
                    "StatusDetails": "Pending",
                    "TargetCount": len(instance_ids),
                    "CompletedCount": 0,
                    "ErrorCount": 0,
                    "DeliveryTimedOutCount": 0,
                    "TimeoutSeconds": int(body.get("TimeoutSeconds") or 3600),
                }
            }
        )

    def _run(self, invocation: Invocation) -> None:
        try:
            request = parse_shell_commands(invocation.commands)
            invocation.status = "InProgress"
            invocation.started = _now_text()
            started = time.monotonic()
            if request is None:
                self._finish(invocation, "Failed", 126, "", NOT_ALLOWED, started)
                return
            try:
                lab = self.labs.lab_of_instance(invocation.vpc_id, invocation.instance_id)
                done = lab.run_probe(invocation.instance_id, request)
            except LabUnavailable as error:
                self._finish(invocation, "Failed", 1, "", str(error), started)
                return
            except KeyError as error:
                self._finish(
                    invocation, "Failed", 1, "", str(error.args[0] if error.args else error), started
                )
                return
            status = "Success" if done.returncode == 0 else "Failed"
            self._finish(invocation, status, done.returncode, done.stdout, done.stderr, started)
        except Exception as error:  # the invocation must end, whatever happened
            log.exception("SSM invocation %s failed", invocation.command_id)
            self._finish(invocation, "Failed", 1, "", f"the sandbox failed: {error}", time.monotonic())

    @staticmethod
    def _finish(
        invocation: Invocation, status: str, code: int, stdout: str, stderr: str, started: float
    ) -> None:
        invocation.response_code = code
        invocation.stdout = stdout[-24000:]  # SSM keeps the first 24,000 characters
        invocation.stderr = stderr[-8000:]
        invocation.ended = _now_text()
        invocation.elapsed = f"PT{time.monotonic() - started:.3f}S"
        invocation.status = status
        invocation.done.set()

    # --- GetCommandInvocation -----------------------------------------------------------------------

    def _get(self, body: dict, account: str) -> Answer | None:
        key = (account, body.get("CommandId", ""), body.get("InstanceId", ""))
        with self._lock:
            invocation = self._invocations.get(key)
        if invocation is None:
            return None  # not one of ours: moto answers (InvocationDoesNotExist for unknown ids)
        # The first ask always, and any ask in the first moments: clients must retry (as on AWS).
        if not invocation.asked or time.time() < invocation.visible_at:
            invocation.asked = True
            return _error("InvocationDoesNotExist", "")
        return _ok(invocation.describe())


def _running_instance_vpc(account: str, region: str, instance_id: str) -> str | None:
    try:
        instance = ec2_backends[account][region].get_instance(instance_id)
    except (EC2ClientError, KeyError):
        return None
    if instance.state != "running":
        return None
    return instance.vpc_id


def _json_body(environ: dict) -> dict:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(raw)  # put back for moto
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _ok(payload: dict) -> Answer:
    body = json.dumps(payload).encode()
    return 200, [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))], body


def _error(code: str, message: str, status: int = 400) -> Answer:
    body = json.dumps({"__type": code, "message": message}).encode()
    headers = [
        ("Content-Type", "application/x-amz-json-1.1"),
        ("x-amzn-ErrorType", code),
        ("Content-Length", str(len(body))),
    ]
    return status, headers, body
