"""What the sandbox does to calls besides answering them: latency, injected errors, EC2-like
throttling and eventual consistency.

Pure Python, no moto: the middleware feeds these models the calls it sees. Each model is
configured through the control API (see docs/sandbox.md) and is thread-safe.
"""

import fnmatch
import itertools
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from sandbox.awsquery import AwsCall, AwsError

# --- Latency ------------------------------------------------------------------------------------

Z_99 = 2.3263478740408408  # standard normal quantile of 0.99
MAX_SAMPLE_FACTOR = 20.0  # cap a lognormal sample at 20x its median

# reliability.md section C: Describe* about 150 ms, mutating calls 300-1500 ms, RunInstances
# 1.5 s; all lognormal with p99 about three times the median.
AWS_LATENCY_MS = {
    "*": 400,
    "Describe*": 150,
    "Get*": 150,
    "List*": 150,
    "RunInstances": 1500,
    "ModifyAvailabilityZoneGroup": 1500,
    "CreateCarrierGateway": 1000,
    "TerminateInstances": 800,
    "AssociateAddress": 800,
    "CreateSubnet": 600,
    "AttachInternetGateway": 600,
    "DetachInternetGateway": 600,
    "CreateVpc": 500,
    "CreateInternetGateway": 500,
    "AllocateAddress": 500,
    "Delete*": 500,
    "CreateRouteTable": 400,
    "CreateSecurityGroup": 400,
    "CreateRoute": 300,
    "AssociateRouteTable": 300,
    "AuthorizeSecurityGroupIngress": 300,
    "CreateTags": 300,
}


class ConfigError(ValueError):
    """A control-API request with invalid settings."""


def pattern_specificity(pattern: str) -> tuple[int, int]:
    """Sort key: exact action names first, then longer patterns, then the catch-all."""
    return (0 if not any(char in pattern for char in "*?[") else 1, -len(pattern))


@dataclass
class LatencyRule:
    action: str
    ms: float
    distribution: str = "fixed"
    p99_ratio: float = 3.0

    def __post_init__(self) -> None:
        if self.ms < 0:
            raise ConfigError("ms must be >= 0")
        if self.distribution not in ("fixed", "lognormal"):
            raise ConfigError("distribution must be 'fixed' or 'lognormal'")
        if self.p99_ratio < 1:
            raise ConfigError("p99_ratio must be >= 1")

    def sample_seconds(self, rng: random.Random) -> float:
        """One delay: the median itself, or a lognormal draw whose p99 is p99_ratio x median."""
        median = self.ms / 1000.0
        if self.distribution == "fixed" or median == 0:
            return median
        sigma = math.log(self.p99_ratio) / Z_99
        return min(median * math.exp(rng.gauss(0.0, sigma)), median * MAX_SAMPLE_FACTOR)


class Latency:
    """Delays per action pattern (``RunInstances``, ``Describe*``, ``*``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: dict[str, LatencyRule] = {}
        self._rng = random.Random()

    def set(self, rule: LatencyRule) -> None:
        with self._lock:
            self._rules[rule.action] = rule

    def apply_preset(self, name: str) -> None:
        if name != "aws":
            raise ConfigError(f"unknown latency preset {name!r} (known: 'aws')")
        for action, ms in AWS_LATENCY_MS.items():
            self.set(LatencyRule(action=action, ms=ms, distribution="lognormal", p99_ratio=3.0))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def delay_for(self, action: str) -> float:
        """Seconds to wait before answering ``action``."""
        with self._lock:
            rule = self._rule_for(action)
            return rule.sample_seconds(self._rng) if rule else 0.0

    def _rule_for(self, action: str) -> LatencyRule | None:
        for pattern in sorted(self._rules, key=pattern_specificity):
            if fnmatch.fnmatchcase(action, pattern):
                return self._rules[pattern]
        return None

    def describe(self) -> list[dict]:
        with self._lock:
            return [asdict(rule) for rule in self._rules.values()]


# --- Injected errors ----------------------------------------------------------------------------

DEFAULT_STATUS = {
    "RequestLimitExceeded": 503,
    "InsufficientInstanceCapacity": 500,
    "InternalError": 500,
    "ServiceUnavailable": 503,
    "Unavailable": 503,
}
DEFAULT_MESSAGE = {
    "RequestLimitExceeded": "Request limit exceeded.",
    "InsufficientInstanceCapacity": (
        "We currently do not have sufficient capacity in the Availability Zone you requested. "
        "Our system will be working on provisioning additional capacity."
    ),
    "InternalError": "An internal error has occurred.",
}
FAULT_PRESETS = {
    # EC2 sends InsufficientInstanceCapacity as a server error, so botocore retries it.
    "capacity": {"action": "RunInstances", "code": "InsufficientInstanceCapacity", "status": 500},
    "request-limit": {"action": "*", "code": "RequestLimitExceeded", "status": 503},
}


@dataclass
class FaultRule:
    id: str
    action: str
    code: str
    status: int
    message: str
    count: int | None = None
    rate: float | None = None
    zone: str | None = None
    after_effect: bool = False  # the call takes effect, then answers this error (a lost success)
    fired: int = 0

    def __post_init__(self) -> None:
        if not 400 <= self.status <= 599:
            raise ConfigError("status must be an HTTP error status (400-599)")
        if self.count is not None and self.count < 1:
            raise ConfigError("count must be >= 1")
        if self.rate is not None and not 0 <= self.rate <= 1:
            raise ConfigError("rate must be between 0 and 1")

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.fired >= self.count


def fault_rule_from_spec(rule_id: str, spec: dict[str, Any]) -> FaultRule:
    """Build a rule from the control API's JSON, expanding a ``preset``."""
    spec = dict(spec)
    preset = spec.pop("preset", None)
    if preset is not None:
        if preset not in FAULT_PRESETS:
            raise ConfigError(f"unknown fault preset {preset!r} (known: {', '.join(FAULT_PRESETS)})")
        spec = {**FAULT_PRESETS[preset], **spec}
    code = spec.get("code")
    if not code:
        raise ConfigError("code is required (or a preset)")
    unknown = set(spec) - {"action", "code", "status", "message", "count", "rate", "zone", "after_effect"}
    if unknown:
        raise ConfigError(f"unknown fields: {', '.join(sorted(unknown))}")
    try:
        return FaultRule(
            id=rule_id,
            action=spec.get("action", "*"),
            code=code,
            status=int(spec.get("status", DEFAULT_STATUS.get(code, 400))),
            message=spec.get("message") or DEFAULT_MESSAGE.get(code, f"Injected fault: {code}."),
            count=None if spec.get("count") is None else int(spec["count"]),
            rate=None if spec.get("rate") is None else float(spec["rate"]),
            zone=spec.get("zone"),
            after_effect=bool(spec.get("after_effect", False)),
        )
    except ConfigError:
        raise
    except (TypeError, ValueError) as error:
        raise ConfigError(str(error)) from error


class Faults:
    """Error rules matched against each call: a count of calls, a rate, or every call."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._rng = random.Random()

    def add(self, spec: dict[str, Any]) -> FaultRule:
        with self._lock:
            rule = fault_rule_from_spec(f"fault-{next(self._ids)}", spec)
            self._rules.append(rule)
            return rule

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [rule for rule in self._rules if rule.id != rule_id]
            return len(self._rules) < before

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def error_for(
        self, call: AwsCall, zone_of: Callable[[AwsCall], str | None], *, after_effect: bool = False
    ) -> AwsError | None:
        """The error to answer instead of ``call`` (or, ``after_effect``, once it took effect), if a
        rule of that kind fires for it.

        ``zone_of`` (which looks into moto) is only asked when a zone rule could match, and
        outside this model's lock.
        """
        with self._lock:
            rules = [rule for rule in self._rules if rule.after_effect == after_effect]
            wants_zone = any(rule.zone and self._action_matches(rule, call) for rule in rules)
        zone = zone_of(call) if wants_zone else None
        with self._lock:
            for rule in rules:
                if self._fires(rule, call, zone):
                    rule.fired += 1
                    return AwsError(rule.code, rule.message, rule.status)
        return None

    @staticmethod
    def _action_matches(rule: FaultRule, call: AwsCall) -> bool:
        return not rule.exhausted and fnmatch.fnmatchcase(call.action, rule.action)

    def _fires(self, rule: FaultRule, call: AwsCall, zone: str | None) -> bool:
        if not self._action_matches(rule, call):
            return False
        if rule.zone is not None and zone != rule.zone:
            return False
        return rule.rate is None or self._rng.random() < rule.rate

    def describe(self) -> list[dict]:
        with self._lock:
            return [asdict(rule) for rule in self._rules]


# --- Throttling ---------------------------------------------------------------------------------

# reliability.md B4 (EC2 API throttling): bucket size and refill per second, per account and region.
THROTTLE_BUCKETS = {
    "non-mutating": (100, 20),
    "unfiltered-describe": (50, 10),
    "mutating": (50, 5),
    "resource-intensive": (50, 5),
    "tags": (100, 10),
    "run-instances": (5, 2),
    "terminate-instances": (100, 5),
}
RESOURCE_INTENSIVE_ACTIONS = {
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress",
    "CreateKeyPair",
}
UNFILTERED_DESCRIBES = {"DescribeInstances", "DescribeNetworkInterfaces", "DescribeSecurityGroups"}
NARROWING_PARAMETER = re.compile(r"^(Filter|MaxResults|InstanceId|NetworkInterfaceId|GroupId|GroupName)\b")


def throttle_category(call: AwsCall) -> str:
    """The EC2 throttling bucket an action draws from."""
    action = call.action
    if action == "RunInstances":
        return "run-instances"
    if action == "TerminateInstances":
        return "terminate-instances"
    if action in ("CreateTags", "DeleteTags"):
        return "tags"
    if action in RESOURCE_INTENSIVE_ACTIONS:
        return "resource-intensive"
    if action.startswith(("Describe", "List", "Get")):
        narrowed = any(NARROWING_PARAMETER.match(name) for name in call.params)
        return "unfiltered-describe" if action in UNFILTERED_DESCRIBES and not narrowed else "non-mutating"
    return "mutating"


@dataclass
class TokenBucket:
    capacity: float
    refill_per_second: float
    tokens: float = field(init=False)
    updated: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.capacity

    def take(self, now: float) -> bool:
        """Spend one token if there is one, after refilling for the time elapsed."""
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.refill_per_second)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class Throttle:
    """EC2-like token buckets per account, region and action category; off by default."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.enabled = False
        self.scale = 1.0
        self._table = dict(THROTTLE_BUCKETS)
        self._buckets: dict[tuple[str, str, str], TokenBucket] = {}

    def configure(self, enabled: bool, scale: float = 1.0, buckets: dict[str, Any] | None = None) -> None:
        """Switch throttling on or off; ``scale`` multiplies every refill rate; ``buckets`` replaces
        some categories' numbers (``{"mutating": {"size": 20, "refill_per_second": 3}}``), the
        others keep AWS's. Buckets start full."""
        if scale <= 0:
            raise ConfigError("scale must be > 0")
        table = dict(THROTTLE_BUCKETS)
        for name, spec in (buckets or {}).items():
            table[name] = throttle_bucket_from_spec(name, spec)
        with self._lock:
            self.enabled = bool(enabled)
            self.scale = float(scale)
            self._table = table
            self._buckets.clear()

    def error_for(self, call: AwsCall) -> AwsError | None:
        """RequestLimitExceeded (HTTP 503) when the call's bucket is empty."""
        if not self.enabled:
            return None
        category = throttle_category(call)
        with self._lock:
            bucket = self._buckets.get((call.account, call.region, category))
            if bucket is None:
                capacity, refill = self._table[category]
                bucket = TokenBucket(capacity, refill * self.scale)
                self._buckets[(call.account, call.region, category)] = bucket
            if bucket.take(time.monotonic()):
                return None
        return AwsError("RequestLimitExceeded", "Request limit exceeded.", 503)

    def describe(self) -> dict:
        with self._lock:
            return {
                "enabled": self.enabled,
                "scale": self.scale,
                "buckets": {
                    name: {"size": size, "refill_per_second": rate} for name, (size, rate) in self._table.items()
                },
            }


def throttle_bucket_from_spec(name: str, spec: Any) -> tuple[float, float]:
    """(size, refill per second) of one category from the control API's JSON."""
    if name not in THROTTLE_BUCKETS:
        raise ConfigError(f"unknown throttle category {name!r} (known: {', '.join(THROTTLE_BUCKETS)})")
    if not isinstance(spec, dict) or set(spec) - {"size", "refill_per_second"}:
        raise ConfigError(f"{name}: give {{\"size\": N, \"refill_per_second\": R}}")
    size, refill = THROTTLE_BUCKETS[name]
    try:
        size, refill = float(spec.get("size", size)), float(spec.get("refill_per_second", refill))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{name}: {error}") from error
    if size < 1 or refill <= 0:
        raise ConfigError(f"{name}: size must be >= 1 and refill_per_second > 0")
    return size, refill


# --- Eventual consistency -----------------------------------------------------------------------

NOT_FOUND_ERRORS = {
    "i": ("InvalidInstanceID.NotFound", "The instance ID '{id}' does not exist"),
    "vpc": ("InvalidVpcID.NotFound", "The vpc ID '{id}' does not exist"),
    "subnet": ("InvalidSubnetID.NotFound", "The subnet ID '{id}' does not exist"),
    "rtb": ("InvalidRouteTableID.NotFound", "The routeTable ID '{id}' does not exist"),
    "sg": ("InvalidGroup.NotFound", "The security group '{id}' does not exist"),
    "cagw": ("InvalidCarrierGatewayID.NotFound", "The CarrierGateway ID '{id}' does not exist"),
    "eipalloc": ("InvalidAllocationID.NotFound", "The allocation ID '{id}' does not exist"),
    "igw": ("InvalidInternetGatewayID.NotFound", "The internetGateway ID '{id}' does not exist"),
}
CREATED_ID_ELEMENT = {
    "CreateVpc": "vpcId",
    "CreateSubnet": "subnetId",
    "CreateInternetGateway": "internetGatewayId",
    "CreateCarrierGateway": "carrierGatewayId",
    "CreateRouteTable": "routeTableId",
    "CreateSecurityGroup": "groupId",
    "RunInstances": "instanceId",
    "AllocateAddress": "allocationId",
}
RESOURCE_ID = re.compile(r"^(?P<prefix>[a-z]+)-[0-9a-f]{8,17}$")


def created_ids(action: str, body: bytes) -> list[str]:
    """The ids of the resources a successful create call's XML answer names."""
    element = CREATED_ID_ELEMENT.get(action)
    if element is None:
        return []
    return [
        match.decode()
        for match in re.findall(rb"<%s>([^<]+)</%s>" % (element.encode(), element.encode()), body)
    ]


def not_found_error(resource_id: str) -> AwsError:
    code, message = NOT_FOUND_ERRORS[RESOURCE_ID.match(resource_id)["prefix"]]
    return AwsError(code, message.format(id=resource_id), 400)


class Consistency:
    """For ``seconds`` after creation, a new id answers NotFound (at ``rate``) when a call names it.

    Ids are only hidden when named as parameters (describe by id, or used by another call);
    filter-based describes list the resource at once.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds = 0.0
        self.rate = 1.0
        self._created_at: dict[str, float] = {}
        self._rng = random.Random()

    def configure(self, seconds: float, rate: float = 1.0) -> None:
        if seconds < 0:
            raise ConfigError("seconds must be >= 0")
        if not 0 <= rate <= 1:
            raise ConfigError("rate must be between 0 and 1")
        with self._lock:
            self.seconds = float(seconds)
            self.rate = float(rate)

    def clear(self) -> None:
        with self._lock:
            self.seconds, self.rate = 0.0, 1.0
            self._created_at.clear()

    def record_created(self, resource_ids: Iterable[str]) -> None:
        """Remember when ids were first seen; a replayed ClientToken answer does not renew them."""
        now = time.monotonic()
        with self._lock:
            for resource_id in resource_ids:
                self._created_at.setdefault(resource_id, now)

    def error_for(self, call: AwsCall) -> AwsError | None:
        if self.seconds <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            young = [
                resource_id
                for resource_id in call.named_resource_ids()
                if now - self._created_at.get(resource_id, -math.inf) < self.seconds
            ]
            if young and self._rng.random() < self.rate:
                return not_found_error(young[0])
        return None

    def describe(self) -> dict:
        with self._lock:
            return {"seconds": self.seconds, "rate": self.rate}
