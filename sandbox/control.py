"""The sandbox's control API: JSON over HTTP under ``/_sandbox/`` (docs/sandbox.md has examples)."""

import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Any
from urllib.parse import parse_qs

from sandbox import wavelength
from sandbox.accounts import ACCOUNT_ID
from sandbox.awsquery import status_line
from sandbox.credentials import session_cap
from sandbox.faults import ConfigError, LatencyRule
from sandbox.inventory import inventory
from sandbox.lab import control as lab_control
from sandbox.runtime import SandboxRuntime
from sandbox.wavelength.availability_zones import opt_in_delay
from sandbox.wavelength.quotas import QUOTAS, quota_settings

CONTROL_PREFIX = "/_sandbox/"

log = logging.getLogger("sandbox")

Payload = dict[str, Any]
Handler = Callable[[SandboxRuntime, Payload, dict[str, str]], tuple[int, Payload]]


class ControlError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def reset(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    runtime.reset()
    return 200, {"status": "reset"}


def state(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    return 200, runtime.describe()


def set_latency(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    if "preset" in body:
        runtime.latency.apply_preset(body["preset"])
    else:
        runtime.latency.set(
            LatencyRule(
                action=body.get("action", "*"),
                ms=float(_required(body, "ms")),
                distribution=body.get("distribution", "fixed"),
                p99_ratio=float(body.get("p99_ratio", 3.0)),
            )
        )
    return 200, {"latency": runtime.latency.describe()}


def clear_latency(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    runtime.latency.clear()
    return 200, {"latency": []}


def add_fault(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    rule = runtime.faults.add(body)
    return 201, {"id": rule.id, "fault": asdict(rule)}


def clear_faults(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    runtime.faults.clear()
    return 200, {"faults": []}


def remove_fault(fault_id: str) -> Handler:
    def remove(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
        if not runtime.faults.remove(fault_id):
            raise ControlError(404, f"no fault {fault_id}")
        return 200, {"faults": runtime.faults.describe()}

    return remove


def set_throttle(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    buckets = body.get("buckets")
    if buckets is not None and not isinstance(buckets, dict):
        raise ControlError(400, "buckets must be an object of category -> {size, refill_per_second}")
    runtime.throttle.configure(
        enabled=bool(body.get("enabled", True)), scale=float(body.get("scale", 1.0)), buckets=buckets
    )
    return 200, {"throttle": runtime.throttle.describe()}


def set_consistency(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    runtime.consistency.configure(
        seconds=float(_required(body, "seconds")), rate=float(body.get("rate", 1.0))
    )
    return 200, {"consistency": runtime.consistency.describe()}


def clear_consistency(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    runtime.consistency.clear()
    return 200, {"consistency": runtime.consistency.describe()}


def set_pending(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    wavelength.pending_time.set(float(_required(body, "seconds")))
    return 200, {"pending_seconds": wavelength.pending_time.seconds}


def set_opt_in(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    opt_in_delay.set(float(_required(body, "seconds")))
    return 200, {"opt_in_seconds": opt_in_delay.seconds}


def quotas(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    return 200, quota_settings.describe(account=_account(query.get("account")), region=query.get("region") or None)


def set_quota(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    """Raise (or lower) one quota as a user asks AWS, or start over from a profile."""
    if "profile" in body:
        quota_settings.use_profile(str(body["profile"]))
    else:
        code = str(_required(body, "quota_code"))
        service = body.get("service_code")
        if service is not None and code in QUOTAS and QUOTAS[code].service_code != service:
            raise ControlError(400, f"{code} is a quota of {QUOTAS[code].service_code}, not {service}")
        quota_settings.set(
            code, float(_required(body, "value")), account=_account(body.get("account")), region=body.get("region")
        )
    return 200, quota_settings.describe()


def calls(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    return 200, runtime.calls.snapshot(action=query.get("action"), account=_account(query.get("account")))


def clear_calls(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    runtime.calls.clear()
    return 200, {"counts": {}, "calls": []}


def tagged_inventory(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    tag = query.get("tag")
    if not tag:
        raise ControlError(400, "the tag parameter is required: ?tag=KEY or ?tag=KEY=VALUE")
    key, separator, value = tag.partition("=")
    account = _account(query.get("account"))
    with runtime.moto_lock:
        items = inventory(key, value if separator else None, account=account)
    return 200, {"items": items}


def create_account(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    """What a customer does in their own account: the role the panel assumes, with its trust policy."""
    with runtime.moto_lock:
        account = runtime.accounts.create(body)
    return 201, asdict(account)


def list_accounts(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    return 200, {"items": runtime.accounts.describe()}


def sts_settings(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    return 200, {
        "session_seconds": session_cap.seconds,
        "sessions": runtime.credentials.sessions(account=_account(query.get("account"))),
    }


def set_sts(runtime: SandboxRuntime, body: Payload, query: dict[str, str]) -> tuple[int, Payload]:
    """Cap the lifetime of sessions issued from now on (null: no cap)."""
    if "session_seconds" not in body:
        raise ControlError(400, "session_seconds is required (seconds, or null for no cap)")
    session_cap.set(body["session_seconds"])
    return sts_settings(runtime, {}, {})


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "reset"): reset,
    ("GET", "state"): state,
    ("POST", "latency"): set_latency,
    ("DELETE", "latency"): clear_latency,
    ("POST", "faults"): add_fault,
    ("DELETE", "faults"): clear_faults,
    ("POST", "throttle"): set_throttle,
    ("POST", "consistency"): set_consistency,
    ("DELETE", "consistency"): clear_consistency,
    ("POST", "pending"): set_pending,
    ("POST", "opt-in"): set_opt_in,
    ("GET", "quotas"): quotas,
    ("POST", "quotas"): set_quota,
    ("GET", "calls"): calls,
    ("DELETE", "calls"): clear_calls,
    ("GET", "inventory"): tagged_inventory,
    ("POST", "accounts"): create_account,
    ("GET", "accounts"): list_accounts,
    ("GET", "sts"): sts_settings,
    ("PUT", "sts"): set_sts,
}


def _required(body: Payload, name: str) -> Any:
    if name not in body:
        raise ControlError(400, f"{name} is required")
    return body[name]


def _account(value: Any) -> str | None:
    """An optional account id from a query or body: None, or 12 digits."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not ACCOUNT_ID.match(value):
        raise ControlError(400, f"account must be a 12-digit account id, e.g. 111122223333; got {value!r}")
    return value


def _route(method: str, path: str) -> Handler:
    name = path[len(CONTROL_PREFIX) :].strip("/")
    if method == "DELETE" and name.startswith("faults/"):
        return remove_fault(name.removeprefix("faults/"))
    handler = ROUTES.get((method, name)) or lab_control.route(method, name)
    if handler is None:
        known = any(route_name == name for _, route_name in ROUTES)
        raise ControlError(405 if known else 404, f"no control path {method} {CONTROL_PREFIX}{name}")
    return handler


def _json_body(environ: dict) -> Payload:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length else b""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise ControlError(400, f"invalid JSON: {error}") from error
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def handle(runtime: SandboxRuntime, environ: dict) -> tuple[int, Payload]:
    """Answer one control request: (HTTP status, JSON payload)."""
    try:
        handler = _route(environ.get("REQUEST_METHOD", "GET"), environ.get("PATH_INFO", ""))
        query = {key: values[-1] for key, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
        return handler(runtime, _json_body(environ), query)
    except ControlError as error:
        return error.status, {"detail": error.detail}
    except (ConfigError, ValueError, TypeError) as error:
        return 400, {"detail": str(error)}
    except Exception as error:
        log.exception("control request failed")
        return 500, {"detail": f"the sandbox failed: {error}"}


def wsgi_response(status: int, payload: Payload, start_response: Callable) -> list[bytes]:
    body = json.dumps(payload, default=str).encode()
    start_response(
        status_line(status),
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
    )
    return [body]
