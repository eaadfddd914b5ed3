"""What an AWS failure means for the engine: retry soon, retry much later, or give up.

botocore's `standard` retry mode has already retried throttling and 5xx a few times before the
engine sees an error; what reaches here is handled on the engine's own, longer, schedule.
"""

import enum
from dataclasses import dataclass

from .client import NO_ANSWER_ERRORS, BotoCoreError, ClientError

THROTTLING_CODES = frozenset(
    {"RequestLimitExceeded", "Throttling", "ThrottlingException", "EC2ThrottledException", "RequestThrottled"}
)
CAPACITY_CODES = frozenset(
    {"InsufficientInstanceCapacity", "InsufficientCapacity", "InsufficientHostCapacity"}
)
TRANSIENT_CODES = frozenset(
    {"InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable", "RequestTimeout"}
)

CAPACITY_HINT = (
    "AWS has no capacity for this instance type in the zone right now. Retry later; or request another "
    "instance type the zone offers (a new request, prefilled from this one, that needs a new approval); "
    "or destroy the environment."
)

# EC2's quota errors, and the Service Quotas code a user raises (console or
# `aws service-quotas request-service-quota-increase --service-code … --quota-code …`).
QUOTA_ERRORS = {
    "VpcLimitExceeded": ("vpc", "L-F678F1CE", "VPCs per Region"),
    "InternetGatewayLimitExceeded": ("vpc", "L-A4707A72", "Internet gateways per Region"),
    "AddressLimitExceeded": ("ec2", "L-0263D0A3", "EC2-VPC Elastic IPs"),
    "VcpuLimitExceeded": (
        "ec2",
        "L-1216C47A",
        "Running On-Demand Standard instances, in vCPUs (G and VT instances: L-DB2E81BA)",
    ),
}
# EC2 answers AddressLimitExceeded for Carrier IPs too, and wlpanel allocates no Elastic IP of
# its own (the bastion's public address is not one): name the Carrier IP limit first.
CARRIER_IP_HINT = (
    "The account has reached its limit of Carrier IPs in the zone's network border group (AddressLimitExceeded). "
    "AWS publishes no Service Quotas code for it: release Carrier IPs no longer used (destroy environments you "
    "no longer need), or ask AWS Support to raise the limit for the border group, then retry. "
)


def quota_hint(code: str) -> str:
    """What to tell the user when AWS refused a create over a quota; "" for other errors."""
    if code not in QUOTA_ERRORS:
        return ""
    service, quota_code, name = QUOTA_ERRORS[code]
    prefix = CARRIER_IP_HINT + "For an Elastic IP: " if code == "AddressLimitExceeded" else ""
    return prefix + (
        f"The account has reached its AWS quota “{name}” in this Region (Service Quotas: {service} {quota_code}). "
        "Destroy environments you no longer need, or ask AWS to raise the quota (Service Quotas console, or "
        f"`aws service-quotas request-service-quota-increase --service-code {service} --quota-code {quota_code} "
        "--desired-value N`), then retry."
    )


class Action(enum.StrEnum):
    RETRY = "retry"  # throttled, 5xx, no answer: soon, with backoff
    CONSISTENCY = "consistency"  # a new id not visible yet: retry, never re-create
    CAPACITY = "capacity"  # InsufficientInstanceCapacity: minutes later, up to a cap
    DEPENDENCY = "dependency"  # teardown: AWS has not released a dependent resource yet
    FATAL = "fatal"  # the request itself is wrong: fail with AWS's message


@dataclass(frozen=True)
class Verdict:
    action: Action
    code: str
    message: str

    @property
    def retryable(self) -> bool:
        return self.action != Action.FATAL


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "") or "ClientError"
    return type(exc).__name__


def error_message(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Message", "") or str(exc)
    return str(exc)


def http_status(exc: BaseException) -> int | None:
    if isinstance(exc, ClientError):
        return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return None


def is_not_found(exc: BaseException) -> bool:
    code = error_code(exc)
    return code.endswith(".NotFound") or code.endswith("NotFound")


def is_duplicate(exc: BaseException) -> bool:
    """AWS says the thing exists already (`InvalidGroup.Duplicate`, `InvalidSubnet.Conflict`, ...).

    After a create whose answer was lost, that thing may well be ours: look it up by its tags.
    """
    code = error_code(exc)
    return code.endswith((".Duplicate", ".Conflict", "AlreadyExists"))


def created_nothing(exc: BaseException) -> bool:
    """True when AWS answered a create with an error that proves nothing was created."""
    if not isinstance(exc, ClientError):
        return False  # no answer: the create may or may not have happened
    code = error_code(exc)
    if code in CAPACITY_CODES or code in THROTTLING_CODES:
        return True
    if is_duplicate(exc):
        return False  # something exists: perhaps our own earlier create
    return (http_status(exc) or 0) < 500 and code not in TRANSIENT_CODES


def classify(exc: BaseException, *, teardown: bool, recently_created: bool) -> Verdict:
    """The engine's reading of an AWS failure (see module docstring)."""
    code, message = error_code(exc), error_message(exc)
    if isinstance(exc, NO_ANSWER_ERRORS) or (
        isinstance(exc, BotoCoreError) and not isinstance(exc, ClientError)
    ):
        return Verdict(Action.RETRY, code, message)
    if code in CAPACITY_CODES:
        return Verdict(Action.CAPACITY, code, message)
    if code in THROTTLING_CODES or code in TRANSIENT_CODES or (http_status(exc) or 0) >= 500:
        return Verdict(Action.RETRY, code, message)
    if code.startswith("Invalid") and is_not_found(exc) and recently_created:
        return Verdict(Action.CONSISTENCY, code, message)
    if code == "DependencyViolation" and teardown:
        return Verdict(Action.DEPENDENCY, code, message)
    return Verdict(Action.FATAL, code, message)
