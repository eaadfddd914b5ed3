"""WSGI middleware in front of moto: control API, call log, and what real AWS does to calls.

Order for an AWS call: find the caller's account from its credentials (sandbox/credentials.py:
unknown keys, bad or expired sessions are refused) and tell moto to act in that account; log its
arrival; throttle; injected faults; latency (slept outside the
moto lock, and before moto processes the call, so a client that gives up during the delay
still leaves the resource created); eventual consistency; moto itself; log the outcome.
"""

import logging
import re
import time
from collections.abc import Callable, Iterable

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import ec2_backends

from sandbox import control, pricing, sts
from sandbox.awsquery import JSON_PROTOCOL, AwsCall, AwsError, status_line
from sandbox.credentials import Principal, auth_error
from sandbox.faults import created_ids
from sandbox.runtime import SandboxRuntime

log = logging.getLogger("sandbox")

ERROR_CODE = re.compile(rb"<Code>([^<]+)</Code>")
JSON_ERROR_TYPE = re.compile(rb'"__type"\s*:\s*"([^"]+)"')
Answer = tuple[int, list[tuple[str, str]], bytes]
DRY_RUN_CODE = "DryRunOperation"
DRY_RUN_STATUS = 412
MOTO_ACCOUNT_ENVIRON = "HTTP_X_MOTO_ACCOUNT_ID"  # moto acts in the account this header names


class SandboxMiddleware:
    """Wraps moto's WSGI app (``DomainDispatcherApplication``) for one ``SandboxRuntime``."""

    def __init__(self, app: Callable, runtime: SandboxRuntime):
        self.app = app
        self.runtime = runtime

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(control.CONTROL_PREFIX):
            status, payload = control.handle(self.runtime, environ)
            return control.wsgi_response(status, payload, start_response)
        if pricing.handles(environ):  # the Pricing API: its own JSON protocol, not moto's
            return pricing.respond(environ, start_response)
        # The account comes from the credentials, as on AWS: a client cannot pick it by header.
        environ.pop(MOTO_ACCOUNT_ENVIRON, None)
        call = AwsCall.from_environ(environ)
        caller = None
        if call.action is not None or call.access_key_id is not None:
            caller = self.runtime.credentials.authenticate(call.access_key_id, call.session_token)
            if isinstance(caller, Principal):
                call.account = caller.account
                environ[MOTO_ACCOUNT_ENVIRON] = caller.account
        if call.action is None:  # moto's own API, or a REST call (S3): not logged
            if isinstance(caller, str):
                status, headers, body = _error_answer(auth_error(caller, call.protocol), call.protocol)
            else:
                status, headers, body = self._moto(environ, call.protocol)
        else:
            pending = self.runtime.calls.arrived(call)
            if isinstance(caller, Principal):
                status, headers, body = self._answer(call, caller, environ)
            else:
                status, headers, body = _error_answer(auth_error(caller, call.protocol), call.protocol)
            self.runtime.calls.completed(pending, status, _error_code(status, body))
            if call.action == "DeleteVpc" and status == 200:  # the lab goes with its VPC
                self.runtime.labs.teardown(call.params.get("VpcId", ""))
        start_response(status_line(status), headers)
        return [body]

    def _answer(self, call: AwsCall, caller: Principal, environ: dict) -> Answer:
        injected = self.runtime.throttle.error_for(call) or self._injected_fault(call)
        if injected is not None:
            return _error_answer(injected, call.protocol)
        time.sleep(self.runtime.latency.delay_for(call.action))
        inconsistent = self.runtime.consistency.error_for(call)
        if inconsistent is not None:
            return _error_answer(inconsistent, call.protocol)
        # SSM Run Command of the product's probe script runs in the lab (sandbox/lab/ssm.py).
        ran = self.runtime.labs.ssm.answer(call.action, call.account, call.region, environ)
        if ran is None and sts.handles(call):
            with self.runtime.moto_lock:
                answered = sts.answer(call, caller, self.runtime.credentials)
            ran = _error_answer(answered, call.protocol) if isinstance(answered, AwsError) else answered
        status, headers, body = ran or self._moto(environ, call.protocol)
        if status == 200:
            self.runtime.consistency.record_created(created_ids(call.action, body))
            lost = self.runtime.faults.error_for(call, zone_of=self._launch_zone, after_effect=True)
            if lost is not None:
                return _error_answer(lost, call.protocol)  # done, but the client hears an error
        return status, headers, body

    def _moto(self, environ: dict, protocol: str) -> Answer:
        """Run moto on the request; its exceptions become AWS-style errors, never HTML pages."""
        captured: dict = {}

        def capture(status: str, headers: list, exc_info: object = None) -> None:
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = [
                (name, value) for name, value in headers if name.lower() != "content-length"
            ]

        with self.runtime.moto_lock:
            try:
                chunks = self.app(environ, capture)
                try:
                    body = b"".join(chunks)
                finally:
                    getattr(chunks, "close", lambda: None)()
            except NotImplementedError as error:
                return _error_answer(_not_implemented(error, protocol), protocol)
            except Exception as error:
                log.exception("moto failed on %s", environ.get("PATH_INFO"))
                return _error_answer(AwsError("InternalError", f"The sandbox failed: {error}", 500), protocol)
        headers = captured["headers"] + [("Content-Length", str(len(body)))]
        status = captured["status"]
        if status == 400 and _error_code(status, body) == DRY_RUN_CODE:
            # moto answers every EC2 error with 400; EC2 answers a successful dry run with 412.
            status = DRY_RUN_STATUS
        return status, headers, body

    def _injected_fault(self, call: AwsCall) -> AwsError | None:
        return self.runtime.faults.error_for(call, zone_of=self._launch_zone)

    def _launch_zone(self, call: AwsCall) -> str | None:
        """The zone a RunInstances call launches into, for zone-targeted faults."""
        if call.params.get("Placement.AvailabilityZone"):
            return call.params["Placement.AvailabilityZone"]
        subnet_id = call.launch_subnet_id()
        if not subnet_id:
            return None
        with self.runtime.moto_lock:
            try:
                return ec2_backends[call.account][call.region].get_subnet(subnet_id).availability_zone
            except (EC2ClientError, KeyError):  # unknown subnet or region: moto will answer
                return None


def _not_implemented(error: NotImplementedError, protocol: str) -> AwsError:
    message = str(error) or "not implemented"
    if "filter" in message.lower():
        return AwsError("InvalidParameterValue", f"The sandbox does not support this filter: {message}")
    code = "UnknownOperationException" if protocol == JSON_PROTOCOL else "InvalidAction"
    return AwsError(code, f"The sandbox does not implement this action: {message}")


def _error_answer(error: AwsError, protocol: str) -> Answer:
    body = error.body(protocol)
    return error.status, [*error.headers(protocol), ("Content-Length", str(len(body)))], body


def _error_code(status: int, body: bytes) -> str | None:
    if status < 400:
        return None
    match = ERROR_CODE.search(body) or JSON_ERROR_TYPE.search(body)
    return match.group(1).decode().rpartition("#")[2] if match else None
