"""The API's input and output schemas. Each input is bounded as environments/validation.py bounds it
(lengths, character sets, ranges, list sizes, CIDR notation), so the OpenAPI document states the
limits that the forms and the services enforce, and a refusal names the field with a message a
person can act on."""

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, Field

from wlpanel.pagination import MAX_LIMIT

from . import validation
from .choices import EnvironmentState, RequestState

# --- Bounded inputs (the limits of environments/validation.py, stated in the OpenAPI document) -----


def _checked(pattern: str, message: str):
    """A validator that refuses what `pattern` does not match, with a message a person can act on."""
    compiled = re.compile(pattern)

    def check(value: str | None) -> str | None:
        if value is not None and not compiled.match(value):
            raise ValueError(message)
        return value

    return AfterValidator(check)


def _text(max_length: int, description: str = ""):
    """Free text: at most `max_length` characters, no NUL."""
    return Annotated[
        str,
        Field(max_length=max_length, description=description, json_schema_extra={"pattern": validation.TEXT_PATTERN}),
        _checked(validation.TEXT_PATTERN, "Must not contain NUL (\\x00) characters."),
    ]


def _cidr_check(value: str | None) -> str | None:
    if value:
        problem = validation.cidr_error(value)
        if problem:
            raise ValueError(problem)
    return value


Cidr = Annotated[
    str,
    Field(
        max_length=validation.CIDR_MAX,
        description="An IPv4 CIDR block with a prefix length, e.g. 10.0.0.0/16 (netmask notation is refused).",
        json_schema_extra={"pattern": validation.CIDR_PATTERN},
    ),
    AfterValidator(_cidr_check),
]
EnvironmentName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=validation.NAME_MAX,
        description="Lowercase letters, digits and hyphens, starting and ending with a letter or digit.",
        json_schema_extra={"pattern": validation.NAME_PATTERN},
    ),
    _checked(validation.NAME_PATTERN, validation.NAME_MESSAGE),
]
TeamSlug = Annotated[
    str,
    Field(min_length=1, max_length=validation.TEAM_SLUG_MAX, json_schema_extra={"pattern": validation.SLUG_PATTERN}),
    _checked(validation.SLUG_PATTERN, "A team's slug: letters, digits, hyphens and underscores."),
]
ZoneName = Annotated[
    str,
    Field(min_length=1, max_length=validation.ZONE_NAME_MAX, json_schema_extra={"pattern": validation.ZONE_PATTERN}),
    _checked(validation.ZONE_PATTERN, "A zone's name: lowercase letters, digits and hyphens."),
]
InstanceType = Annotated[
    str,
    Field(
        min_length=1,
        max_length=validation.INSTANCE_TYPE_MAX,
        json_schema_extra={"pattern": validation.INSTANCE_TYPE_PATTERN},
    ),
    _checked(validation.INSTANCE_TYPE_PATTERN, "An EC2 instance type such as t3.medium."),
]
PlanHash = Annotated[
    str,
    Field(
        min_length=validation.PLAN_HASH_LENGTH,
        max_length=validation.PLAN_HASH_LENGTH,
        description="The plan_hash of the request as you reviewed it (64 lowercase hex digits).",
        json_schema_extra={"pattern": validation.PLAN_HASH_PATTERN},
    ),
    _checked(validation.PLAN_HASH_PATTERN, "A plan hash is 64 lowercase hexadecimal digits."),
]
Ports = Annotated[
    str,
    Field(
        max_length=validation.PORTS_MAX,
        description="Ports and ranges, e.g. 80,443,1000-2000 (tcp and udp only; null means every port).",
        json_schema_extra={"pattern": validation.PORTS_PATTERN},
    ),
    _checked(validation.PORTS_PATTERN, "Ports are digits, commas and ranges such as 1000-2000."),
]
ObjectId = Annotated[int, Field(ge=1, le=validation.ID_MAX)]
Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description=f"Items per page (default 50, at most {MAX_LIMIT}).")]
Cursor = Annotated[
    str,
    Field(max_length=64, description="The `next` of the previous page.", json_schema_extra={"pattern": r"^[A-Za-z0-9_-]*$"}),
    _checked(r"^[A-Za-z0-9_-]*$", "Not a cursor this API returned."),
]
ZoneGroup = Annotated[
    str,
    Field(max_length=validation.ZONE_GROUP_MAX, json_schema_extra={"pattern": validation.ZONE_PATTERN}),
    _checked(validation.ZONE_PATTERN, "A zone group's name: lowercase letters, digits and hyphens."),
]
AccountId = Annotated[
    str,
    Field(max_length=12, description="A 12-digit AWS account id.", json_schema_extra={"pattern": r"^\d{12}$"}),
    _checked(r"^\d{12}$", "An AWS account id is 12 digits."),
]
RegionName = Annotated[
    str,
    Field(max_length=32, json_schema_extra={"pattern": r"^[a-z]{2}(-[a-z]+)+-\d$"}),
    _checked(r"^[a-z]{2}(-[a-z]+)+-\d$", "A Region name such as us-east-1."),
]
TeamFilter = _text(validation.TEAM_SLUG_MAX)
ZoneFilter = _text(validation.ZONE_NAME_MAX)
NameFilter = _text(validation.NAME_MAX, "Part of the name.")
RequestStateFilter = Literal["", *RequestState.values]
EnvironmentStateFilter = Literal["", *EnvironmentState.values]


# --- Schemas -------------------------------------------------------------------------------------


class Page(Schema):
    count: int
    next: str | None


class TeamOut(Schema):
    slug: str
    name: str
    role: str | None  # member | approver | null (auditors and admins see teams they are not in)
    default_ttl_hours: int
    max_ttl_hours: int


class TeamPage(Page):
    items: list[TeamOut]


class AccountRefOut(Schema):
    account_id: str
    name: str


class ZoneOut(Schema):
    name: str
    account: AccountRefOut | None  # null: the panel's own AWS account
    group: str
    region: str
    parent_zone: str
    carrier: str
    metro: str
    opt_in_status: str
    instance_types: list[str]
    described_at: datetime | None


class ZonePage(Page):
    items: list[ZoneOut]


class IngressRuleIn(Schema):
    protocol: Literal["tcp", "udp", "icmp", "all"]
    ports: Ports | None = None


class RequestIn(Schema):
    name: EnvironmentName
    team: TeamSlug
    zone: ZoneName
    account: AccountId | None = None  # default: the team's default account
    instance_type: InstanceType
    purpose: _text(validation.PURPOSE_MAX) = ""
    bastion: bool = True
    vpc_cidr: Cidr = "10.0.0.0/16"
    public_subnet_cidr: Cidr = "10.0.1.0/24"
    wavelength_subnet_cidr: Cidr = "10.0.0.0/24"
    bastion_ssh_cidr: Cidr | None = None
    wavelength_ingress: Annotated[list[IngressRuleIn], Field(max_length=validation.INGRESS_RULES_MAX)] | None = None
    # The team's default when null (72 unless the team says otherwise); at most the team's maximum.
    ttl_hours: Annotated[int, Field(ge=1, le=validation.TTL_HOURS_MAX)] | None = None
    key_name: Annotated[
        str,
        Field(max_length=validation.KEY_NAME_MAX, json_schema_extra={"pattern": validation.KEY_NAME_PATTERN}),
        _checked(validation.KEY_NAME_PATTERN, "An EC2 key pair name is printable ASCII."),
    ] = ""
    image_id: Annotated[
        str,
        Field(max_length=validation.IMAGE_ID_MAX, json_schema_extra={"pattern": validation.IMAGE_ID_PATTERN}),
        _checked(validation.IMAGE_ID_PATTERN, "An AMI id such as ami-0123456789abcdef0, or empty."),
    ] = ""


class CostItemOut(Schema):
    resource: str
    key: str
    hourly: float | None  # USD; None: no price ("no price") or billed by use ("usage-dependent")
    source: str  # a URL, "AWS Price List API", "sample data", "no price" or "usage-dependent"
    sample: bool


class CostOut(Schema):
    """The estimate beside the plan (outside its hash); totals are None when a resource has no price."""

    currency: str
    hourly: float | None
    to_expiry: float | None
    monthly: float | None
    hours: float
    as_of: str | None
    complete: bool
    sample: bool
    location: str | None
    items: list[CostItemOut]


class ApprovalOut(Schema):
    approver: str
    at: str
    comment: str


class PolicyOut(Schema):
    """Which approval rule applies and why, the approvals recorded so far, when the window closes."""

    rule: str
    approvals_required: int
    reasons: list[str]
    version: int
    approvals: list[ApprovalOut]
    expires_at: str | None


class RequestOut(Schema):
    id: int
    name: str
    team: str
    zone: str
    account: AccountRefOut | None
    instance_type: str
    purpose: str
    bastion: bool
    vpc_cidr: str
    public_subnet_cidr: str
    wavelength_subnet_cidr: str
    bastion_ssh_cidr: str | None
    wavelength_ingress: list[dict]
    ttl_hours: int
    state: str
    requester: str
    decided_by: str | None
    decided_at: datetime | None
    decision_comment: str
    created_at: datetime
    plan_hash: str
    environment_id: int | None
    prefilled_from: int | None
    cost: CostOut
    policy: PolicyOut


class PreflightItemOut(Schema):
    quota: str
    service_code: str
    quota_code: str
    limit: float | None  # None: not readable (no Service Quotas code, no permission)
    in_use: int | None
    needs: int
    fits: bool | None  # None: the limit, the usage or the need is not known
    note: str
    how_to_raise: str


class PreflightOut(Schema):
    """The Region's quotas against what the plan creates, from the stored reading (outside the hash)."""

    account: str
    region: str
    state: str  # "checked", "checking" (not read yet), "failed" (never read; see error)
    checked_at: datetime | None
    age_seconds: int | None
    refreshing: bool
    fits: bool | None
    error: str
    items: list[PreflightItemOut]


class RequestDetailOut(RequestOut):
    plan: dict
    preflight: PreflightOut | None  # null once the request is decided


class RequestPage(Page):
    items: list[RequestOut]


class ApproveIn(Schema):
    comment: _text(validation.COMMENT_MAX) = ""
    plan_hash: PlanHash  # required: an approval names the plan it approves


class DecisionIn(Schema):
    comment: _text(validation.COMMENT_MAX) = ""
    plan_hash: PlanHash | None = None  # optional here; when given, it must be the request's


class EnvironmentOut(Schema):
    id: int
    name: str
    team: str
    state: str
    zone: str
    account: AccountRefOut | None
    region: str
    owner: str
    request_id: int
    plan_hash: str
    expires_at: datetime
    created_at: datetime
    ready_at: datetime | None
    destroyed_at: datetime | None
    failure_reason: str
    failure_hint: str
    failure_code: str


class EnvironmentPage(Page):
    items: list[EnvironmentOut]


class StepOut(Schema):
    key: str
    kind: str
    title: str
    state: str
    aws_id: str
    calls: list[str]
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    duration_seconds: float | None
    error: str
    error_code: str
    next_attempt_at: datetime | None


class ResourceOut(Schema):
    key: str
    kind: str
    state: str
    aws_id: str
    tags: dict
    drift: str
    described: Any
    described_at: datetime | None


class RouteOut(Schema):
    destination: str
    target_kind: str
    target_id: str
    state: str
    planned: bool


class RouteTableOut(Schema):
    key: str
    aws_id: str
    subnets: list[dict]
    routes: list[RouteOut]
    described_at: datetime | None


class EnvironmentDetailOut(EnvironmentOut):
    steps: list[StepOut]
    resources: list[ResourceOut]
    route_tables: list[RouteTableOut]
    # bastion_public_ip, bastion_private_ip, bastion_state, instance_private_ip, instance_state, carrier_ip once
    # described; ssh only when the command can work (as the page's connection section)
    addresses: dict
    orphans: list[Any]
    described_at: datetime | None
    plan: dict


class ReasonIn(Schema):
    reason: _text(validation.REASON_MAX) = ""


class ExtendIn(Schema):
    hours: Annotated[int, Field(ge=1, le=validation.EXTEND_HOURS_MAX, description="At most the team's maximum from now.")]


class TrafficRowOut(Schema):
    source: str
    destination: str
    protocol: str
    allowed: bool
    ports: list[str] | None
    reasons: list[str]


class TrafficOut(Schema):
    items: list[TrafficRowOut]
    described_at: datetime | None
