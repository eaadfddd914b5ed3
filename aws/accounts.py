"""What the panel may do in an account: assume its role, then dry-run the calls a build makes.

A dry run asks EC2 whether the caller may make a call without making it (`DryRunOperation` when
allowed, `UnauthorizedOperation` when not), so the account page can say what is missing before a
build fails half-way on a permission.
"""

from .client import AccountAccess, CallContext, ClientError, ec2_client, sts_client
from .errors import error_code, error_message

ALLOWED, DENIED, FAILED = "allowed", "denied", "failed"
DENIED_CODES = frozenset({"UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "AuthFailure"})
# Reads the zone cache makes, and dry runs of the creates a build starts with (the later calls
# need the resources these would create; the role's policy grants them together in practice).
READS = (
    ("DescribeAvailabilityZones", {"AllAvailabilityZones": True}),
    ("DescribeInstanceTypeOfferings", {"LocationType": "availability-zone", "MaxResults": 5}),
)
DRY_RUNS = (
    ("CreateVpc", {"CidrBlock": "10.0.0.0/16"}),
    ("CreateInternetGateway", {}),
    ("AllocateAddress", {"Domain": "vpc"}),
    ("DescribeInstances", {"MaxResults": 5}),
)


class RoleNotAssumable(Exception):
    """The role could not be assumed: AWS's code and message, and what the trust policy needs."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def panel_principal(*, context: CallContext) -> str:
    """The ARN the panel acts as (what an account's role must trust)."""
    return sts_client(context=context).get_caller_identity()["Arn"]


def caller_identity(access: AccountAccess, *, context: CallContext) -> dict:
    """GetCallerIdentity through the assumed role; RoleNotAssumable when STS refuses the role."""
    try:
        identity = sts_client(context=context, account=access).get_caller_identity()
    except ClientError as exc:
        raise RoleNotAssumable(error_code(exc), error_message(exc)) from exc
    return {"account": identity["Account"], "arn": identity["Arn"]}


def _verdict(call) -> dict:
    try:
        call()
    except ClientError as exc:
        code = error_code(exc)
        if code == "DryRunOperation":
            return {"verdict": ALLOWED, "code": code, "message": ""}
        return {"verdict": DENIED if code in DENIED_CODES else FAILED, "code": code, "message": error_message(exc)}
    return {"verdict": ALLOWED, "code": "ok", "message": ""}


def permissions_probe(access: AccountAccess, regions: list[str], *, context: CallContext) -> list[dict]:
    """[{region, call, dry_run, verdict, code, message}] for each Region: reads, then dry runs."""
    findings = []
    for region in regions:
        ec2 = ec2_client(region, context=context, account=access)
        for operation, params in READS:
            method = getattr(ec2, _snake(operation))
            findings.append({"region": region, "call": operation, "dry_run": False, **_verdict(lambda m=method, p=params: m(**p))})
        for operation, params in DRY_RUNS:
            method = getattr(ec2, _snake(operation))
            findings.append(
                {"region": region, "call": operation, "dry_run": True, **_verdict(lambda m=method, p=params: m(DryRun=True, **p))}
            )
    return findings


def _snake(operation: str) -> str:
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in operation).lstrip("_")
