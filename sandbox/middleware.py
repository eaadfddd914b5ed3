"""WSGI middleware in front of moto: control API, call log, and what real AWS does to calls.

Order for an AWS call: log its arrival; throttle; injected faults; latency (slept outside the
moto lock, and before moto processes the call, so a client that gives up during the delay
still leaves the resource created); eventual consistency; moto itself; log the outcome.
"""

import logging
import re
import time
from collections.abc import Callable, Iterable

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models import ec2_backends

from sandbox import control
from sandbox.awsquery import AwsCall, AwsError, status_line
from sandbox.faults import created_ids
from sandbox.runtime import SandboxRuntime

log = logging.getLogger("sandbox")

ERROR_CODE = re.compile(rb"<Code>([^<]+)</Code>")
Answer = tuple[int, list[tuple[str, str]], bytes]


class SandboxMiddleware:
    """Wraps moto's WSGI app (``DomainDispatcherApplication``) for one ``SandboxRuntime``."""

    def __init__(self, app: Callable, runtime: SandboxRuntime):
        self.app = app
        self.runtime = runtime

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(control.CONTROL_PREFIX):
            status, payload = control.handle(self.runtime, environ)
            return control.wsgi_response(status, payload, start_response)
        call = AwsCall.from_environ(environ)
        if call.action is None:
            status, headers, body = self._moto(environ)
        else:
            pending = self.runtime.calls.arrived(call)
            status, headers, body = self._answer(call, environ)
            self.runtime.calls.completed(pending, status, _error_code(status, body))
            if call.action == "DeleteVpc" and status == 200:  # the lab goes with its VPC
                self.runtime.labs.teardown(call.params.get("VpcId", ""))
        start_response(status_line(status), headers)
        return [body]

    def _answer(self, call: AwsCall, environ: dict) -> Answer:
        injected = self.runtime.throttle.error_for(call) or self._injected_fault(call)
        if injected is not None:
            return _error_answer(injected)
        time.sleep(self.runtime.latency.delay_for(call.action))
        inconsistent = self.runtime.consistency.error_for(call)
        if inconsistent is not None:
            return _error_answer(inconsistent)
        # SSM Run Command of the product's probe script runs in the lab (sandbox/lab/ssm.py).
        ran = self.runtime.labs.ssm.answer(call.action, call.account, call.region, environ)
        status, headers, body = ran or self._moto(environ)
        if status == 200:
            self.runtime.consistency.record_created(created_ids(call.action, body))
            lost = self.runtime.faults.error_for(call, zone_of=self._launch_zone, after_effect=True)
            if lost is not None:
                return _error_answer(lost)  # done, but the client hears an error
        return status, headers, body

    def _moto(self, environ: dict) -> Answer:
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
                return _error_answer(_not_implemented(error))
            except Exception as error:
                log.exception("moto failed on %s", environ.get("PATH_INFO"))
                return _error_answer(AwsError("InternalError", f"The sandbox failed: {error}", 500))
        headers = captured["headers"] + [("Content-Length", str(len(body)))]
        return captured["status"], headers, body

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


def _not_implemented(error: NotImplementedError) -> AwsError:
    message = str(error) or "not implemented"
    if "filter" in message.lower():
        return AwsError("InvalidParameterValue", f"The sandbox does not support this filter: {message}")
    return AwsError("InvalidAction", f"The sandbox does not implement this action: {message}")


def _error_answer(error: AwsError) -> Answer:
    body = error.body()
    return error.status, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))], body


def _error_code(status: int, body: bytes) -> str | None:
    if status < 400:
        return None
    match = ERROR_CODE.search(body)
    return match.group(1).decode() if match else None
