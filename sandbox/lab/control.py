"""The lab's control paths under ``/_sandbox/labs`` (docs/lab.md has examples).

- ``GET labs``: the labs of this sandbox, and whether a lab can run here.
- ``POST labs`` ``{"vpc_id"}``: build the VPC's lab now (or get it, rebuilt if the VPC changed).
- ``GET labs/<vpc>``, ``DELETE labs/<vpc>``: one lab; tear it down.
- ``POST labs/<vpc>/faults`` ``{"kind": "drop-route"|"break-security-rule"|"blackhole-carrier-gateway", ...}``;
  ``DELETE labs/<vpc>/faults``: rebuild the lab without faults.
- ``POST labs/<vpc>/probe`` ``{"from": "internet"|"carrier-metro"|"carrier-other"|<instance id>,
  "mode", "target", "port", "timeout"}``: run the product's probe script from that host.
- ``GET labs/<vpc>/listeners``: every host's listener log.

Without CAP_NET_ADMIN every path that needs a lab answers 503 "lab unavailable: needs CAP_NET_ADMIN".
"""

from collections.abc import Callable
from typing import Any

from netmodel.probes import ProbeRequest, read_probe_output

from .netns import LabUnavailable

Payload = dict[str, Any]


class LabControlError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def route(method: str, name: str) -> Callable | None:
    """The handler for ``labs[/<vpc>[/<what>]]``, or None when the path is not a lab path."""
    parts = name.split("/")
    if parts[0] != "labs" or len(parts) > 3:
        return None
    vpc_id = parts[1] if len(parts) > 1 else ""
    what = parts[2] if len(parts) > 2 else ""
    handler = HANDLERS.get((method, bool(vpc_id), what))
    if handler is None:
        return None
    return lambda runtime, body, query: _answer(handler, runtime.labs, vpc_id, body)


def _answer(handler: Callable, labs: Any, vpc_id: str, body: Payload) -> tuple[int, Payload]:
    try:
        return handler(labs, vpc_id, body)
    except LabUnavailable as error:
        return 503, {"detail": str(error)}
    except LabControlError as error:
        return error.status, {"detail": error.detail}
    except KeyError as error:
        return 404, {"detail": str(error.args[0] if error.args else error)}


def list_labs(labs: Any, vpc_id: str, body: Payload) -> tuple[int, Payload]:
    reason = labs.unavailable
    return 200, {"available": reason is None, "reason": reason, "labs": labs.describe()}


def build_lab(labs: Any, vpc_id: str, body: Payload) -> tuple[int, Payload]:
    vpc_id = body.get("vpc_id") or ""
    if not vpc_id:
        raise LabControlError(400, "vpc_id is required")
    return 201, labs.ensure(vpc_id).describe()


def show_lab(labs: Any, vpc_id: str, body: Payload) -> tuple[int, Payload]:
    lab = labs.get(vpc_id)
    if lab is None:
        raise LabControlError(404, f"no lab for {vpc_id}")
    return 200, lab.describe()


def delete_lab(labs: Any, vpc_id: str, body: Payload) -> tuple[int, Payload]:
    if not labs.teardown(vpc_id):
        raise LabControlError(404, f"no lab for {vpc_id}")
    return 200, {"status": "torn down", "vpc_id": vpc_id}


def add_fault(labs: Any, vpc_id: str, body: Payload) -> tuple[int, Payload]:
    lab = labs.ensure(vpc_id)
    try:
        fault = lab.inject(body)
    except ValueError as error:
        raise LabControlError(400, str(error)) from error
    return 201, {"fault": fault, "faults": lab.faults}


def clear_faults(labs: Any, vpc_id: str, body: Payload) -> tuple[int, Payload]:
    return 200, {"faults": labs.rebuild(vpc_id).faults}


def probe(labs: Any, vpc_id: str, body: Payload) -> tuple[int, Payload]:
    lab = labs.ensure(vpc_id)
    source = body.get("from") or ""
    if source not in lab.hosts:
        raise LabControlError(400, f"from must be one of {', '.join(lab.hosts)}")
    try:
        request = ProbeRequest(
            str(body.get("mode", "")),
            str(body.get("target", "")),
            int(body.get("port", 0)),
            float(body.get("timeout", 2.0)),
        )
    except (TypeError, ValueError) as error:
        raise LabControlError(400, f"bad probe: {error}") from error
    done = lab.run_probe(source, request)
    return 200, {
        "from": source,
        "namespace": lab.hosts[source].namespace,
        "exit_code": done.returncode,
        "output": done.stdout,
        "error": done.stderr[-2000:],
        "result": read_probe_output(done.stdout),
    }


def listeners(labs: Any, vpc_id: str, body: Payload) -> tuple[int, Payload]:
    lab = labs.get(vpc_id)
    if lab is None:
        raise LabControlError(404, f"no lab for {vpc_id}")
    return 200, {"logs": {key: lab.listener_log(key) for key in lab.hosts}}


HANDLERS: dict[tuple[str, bool, str], Callable] = {
    ("GET", False, ""): list_labs,
    ("POST", False, ""): build_lab,
    ("GET", True, ""): show_lab,
    ("DELETE", True, ""): delete_lab,
    ("POST", True, "faults"): add_fault,
    ("DELETE", True, "faults"): clear_faults,
    ("POST", True, "probe"): probe,
    ("GET", True, "listeners"): listeners,
}
