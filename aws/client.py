"""Client factory: region, endpoint (sandbox or real AWS), retry mode, and a call recorder.

Every call goes to the AWS call log (`audit.services.aws_call_record`), linked to its environment,
step and causing action; every mutating call is also an audit row. The botocore session and one
client per (service, region, endpoint) are built once per process: `ec2_client()` per step then
costs microseconds (measured: ~270 ms for the first client, ~50 ms for each further fresh client,
~0 for a cached one seen through a new context).
"""

import logging
import os
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError
from django.conf import settings

from aws import rate

from .credentials import AccountAccess, AssumedRoleProvider, RoleAssumer

# Re-exported so the rest of the app never imports botocore itself.
__all__ = [
    "NO_ANSWER_ERRORS",
    "AccountAccess",
    "AwsError",
    "BotoCoreError",
    "CallContext",
    "CallNotRecorded",
    "ClientError",
    "ec2_client",
    "pricing_client",
    "s3_client",
    "servicequotas_client",
    "ssm_client",
    "sts_client",
]

AwsError = (ClientError, BotoCoreError)
# No usable answer (timeout, refused, garbled): a create's outcome is unknown.
NO_ANSWER_ERRORS = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
    ResponseParserError,
)

log = logging.getLogger(__name__)

# Creates that carry no ClientToken: a blind SDK retry after a timeout or a 5xx may create a
# second resource (issue 13: one CreateVpc left six VPCs). They get one attempt; the engine looks
# the resource up by its step tag before it ever tries again.
SINGLE_ATTEMPT_OPERATIONS = frozenset(
    {"CreateVpc", "CreateSubnet", "CreateInternetGateway", "CreateSecurityGroup", "AllocateAddress"}
)
RETRYING, SINGLE_ATTEMPT = "retrying", "single-attempt"
TOTAL_ATTEMPTS = {RETRYING: 6, SINGLE_ATTEMPT: 1}  # the first try included
SANDBOX_CREDENTIALS = {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"}
# Parameters never written to the call log: user data and anything that looks like a secret.
SECRET_PARAMETERS = frozenset(
    {"UserData", "Password", "PrivateKey", "KeyMaterial", "SecretAccessKey", "SessionToken"}
)
SECRET_HINTS = ("secret", "password", "token", "privatekey")
KEPT_TOKENS = frozenset({"ClientToken"})  # idempotency tokens are not secrets and explain retries
READ_ONLY_PREFIXES = ("Describe", "Get", "List")

_session_lock = threading.Lock()
_session: boto3.Session | None = None
_account_sessions: dict[AccountAccess, boto3.Session] = {}
_loader_holder: list = []  # the shared session's data loader (parsed service models), shared by all
# STS is global; its regional endpoints answer for every account (us-east-1 unless configured).
STS_REGION_DEFAULT = "us-east-1"


@dataclass(frozen=True)
class CallContext:
    """What a call is for: the environment, the plan step, and the action that caused it."""

    environment_id: int | None = None
    resource_key: str = ""
    correlation_id: str = ""
    cause_event_id: int | None = None
    # Place in line for AWS's rate (aws/rate.py), epoch seconds: smaller is served first; None: now.
    priority: float | None = None


def _shared_session() -> boto3.Session:
    """The panel's own principal: boto3's default chain on AWS, the sandbox's panel key locally."""
    global _session
    with _session_lock:
        if _session is None:
            core = botocore.session.get_session()
            _loader_holder.append(core.get_component("data_loader"))  # warm its cache once per process
            _session = boto3.Session(botocore_session=core)
        return _session


def _account_session(account: AccountAccess) -> boto3.Session:
    """A session acting in `account` through its assumed role (one per account in this process)."""
    _shared_session()
    loader = _loader_holder[0]
    sts = _sts_client()  # the panel's own principal assumes the role
    with _session_lock:
        if account not in _account_sessions:
            core = botocore.session.get_session()
            core.register_component("data_loader", loader)  # parsed service models shared
            resolver = core.get_component("credential_provider")
            resolver.providers = [AssumedRoleProvider(RoleAssumer(account, sts))]
            _account_sessions[account] = boto3.Session(botocore_session=core)
        return _account_sessions[account]


def _sts_client():
    region = getattr(settings, "WLPANEL_AWS_STS_REGION", "") or STS_REGION_DEFAULT
    return _cached_client("sts", region)


def _endpoint_arguments() -> dict:
    endpoint = settings.WLPANEL_AWS_ENDPOINT
    if endpoint == "aws":
        return {}  # boto3's credential chain, AWS's own endpoints
    if not endpoint:
        raise RuntimeError("WLPANEL_AWS_ENDPOINT is not set: give the sandbox's URL or `aws`.")
    return {"endpoint_url": endpoint, **SANDBOX_CREDENTIALS}


def _account_endpoint_arguments() -> dict:
    """An account's clients: the same endpoint, credentials from its assumed role (never static)."""
    arguments = _endpoint_arguments()
    return {name: value for name, value in arguments.items() if name == "endpoint_url"}


_current_context: ContextVar[CallContext | None] = ContextVar("wlpanel_aws_call_context", default=None)
NO_CONTEXT = CallContext()
_clients_lock = threading.Lock()
_clients: dict[tuple, Any] = {}


def _timeout_setting(name: str, default: float) -> float:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    return float(value) if value is not None else default


def client_config(retry_profile: str) -> Config:
    return Config(
        retries={"mode": "standard", "total_max_attempts": TOTAL_ATTEMPTS[retry_profile]},
        connect_timeout=_timeout_setting("WLPANEL_AWS_CONNECT_TIMEOUT", 5.0),
        read_timeout=_timeout_setting("WLPANEL_AWS_READ_TIMEOUT", 30.0),
    )


def _call_priority() -> float | None:
    return (_current_context.get() or NO_CONTEXT).priority


def _cached_client(service: str, region: str, retry_profile: str = RETRYING, account: AccountAccess | None = None):
    """One botocore client per service, region, endpoint, retry profile and account in this process.

    Building a client builds a class with a method per operation (~50 ms for EC2); reusing one
    makes a client per step free. botocore clients are safe to share between threads. An account's
    client assumes its role when first built (the STS call goes to the call log like any other).
    """
    config = client_config(retry_profile)
    key = (service, region, settings.WLPANEL_AWS_ENDPOINT, retry_profile, config.read_timeout, config.connect_timeout, account)
    with _clients_lock:
        client = _clients.get(key)
    if client is not None:
        return client
    if account is None:
        client = _shared_session().client(service, region_name=region, config=config, **_endpoint_arguments())
    else:
        # Outside the lock: building it calls STS, through a client this function builds.
        client = _account_session(account).client(
            service, region_name=region, config=config, **_account_endpoint_arguments()
        )
    CallRecorder(region, service, account_id=account.account_id if account else "").attach(client)
    # EC2's rate is AWS's per account and Region: shaped per account ("self": the panel's own).
    rate.attach(client, region=region, account_key=account.account_id if account else "self", priority=_call_priority)
    with _clients_lock:
        return _clients.setdefault(key, client)


class RecordedClient:
    """A shared boto3 client seen through one call context: its calls are logged against it.

    The retry mode is chosen per call: operations in SINGLE_ATTEMPT_OPERATIONS go through a
    client that never retries them.
    """

    def __init__(
        self, client_factory, context: CallContext, single_attempt_factory=None, account: AccountAccess | None = None
    ):
        # Built on first use: an account's client assumes its role then, so a refused role is
        # the error of the first call (inside the step that makes it), not of building a client.
        self._client_factory = client_factory
        self._single_attempt_factory = single_attempt_factory
        self._context = context
        self._account = account

    def _client_for(self, name: str):
        client = self._client_factory()
        operation = client.meta.method_to_api_mapping.get(name)
        if self._single_attempt_factory is not None and operation in SINGLE_ATTEMPT_OPERATIONS:
            return self._single_attempt_factory()
        return client

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        token = _current_context.set(self._context)  # an assumed role's STS call is logged here too
        try:
            attribute = getattr(self._client_for(name), name)
        finally:
            _current_context.reset(token)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            token = _current_context.set(self._context)
            try:
                try:
                    return attribute(*args, **kwargs)
                except ClientError as exc:
                    if self._account is None or exc.response.get("Error", {}).get("Code") not in SESSION_REFUSED_CODES:
                        raise
                # AWS refused the session itself (revoked, or expired before botocore expected):
                # nothing was done, so assume the role afresh and make the call once more.
                _forget_account(self._account)
                return getattr(self._client_for(name), name)(*args, **kwargs)
            finally:
                _current_context.reset(token)

        return call


def warm_up(regions: list[str], accounts: list[tuple[AccountAccess, list[str]]] = ()) -> None:
    """Build this process's clients now (at worker start), not inside the first step's time: the
    panel's own in `regions`, and each account's in its Regions, which assumes its role now (an
    account first met inside a step costs that step the AssumeRole and ~50 ms of CPU per client)."""
    for region in regions:
        _cached_client("ec2", region)
        _cached_client("ec2", region, SINGLE_ATTEMPT)
        _cached_client("ssm", region)
    for account, account_regions in accounts:
        try:
            for region in account_regions:
                _cached_client("ec2", region, account=account)
                _cached_client("ec2", region, SINGLE_ATTEMPT, account=account)
                _cached_client("ssm", region, account=account)
        except AwsError as exc:  # a role that cannot be assumed must not keep the others cold
            log.warning("could not assume the role of account %s ahead of time: %s", account, exc)


# Codes with which AWS refuses the credentials, not the call (EC2, STS/IAM, JSON protocols).
SESSION_REFUSED_CODES = frozenset(
    {
        "AuthFailure",
        "RequestExpired",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
    }
)


def _forget_account(account: AccountAccess) -> None:
    """Drop the account's session and clients: the next call assumes its role again."""
    with _session_lock:
        _account_sessions.pop(account, None)
    with _clients_lock:
        for key in [key for key in _clients if key[-1] == account]:
            del _clients[key]


def _factory(service: str, region: str, retry_profile: str = RETRYING, account: AccountAccess | None = None):
    return lambda: _cached_client(service, region, retry_profile, account=account)


def ec2_client(region: str, *, context: CallContext, account: AccountAccess | None = None):
    """EC2 in `region` of `account` (None: the panel's own account, boto3's default chain)."""
    return RecordedClient(
        _factory("ec2", region, account=account),
        context,
        single_attempt_factory=_factory("ec2", region, SINGLE_ATTEMPT, account=account),
        account=account,
    )


def ssm_client(region: str, *, context: CallContext, account: AccountAccess | None = None):
    return RecordedClient(_factory("ssm", region, account=account), context, account=account)


def sts_client(*, context: CallContext, account: AccountAccess | None = None):
    """STS as seen from `account`: its GetCallerIdentity proves the role can be assumed."""
    region = getattr(settings, "WLPANEL_AWS_STS_REGION", "") or STS_REGION_DEFAULT
    return RecordedClient(_factory("sts", region, account=account), context, account=account)


# The Price List API is served from us-east-1 (and ap-south-1), whatever region is priced.
PRICING_REGION = "us-east-1"


def pricing_client(*, context: CallContext = NO_CONTEXT):
    return RecordedClient(_factory("pricing", PRICING_REGION), context)


def s3_client(region: str, *, context: CallContext):
    return RecordedClient(_factory("s3", region), context)


def servicequotas_client(region: str, *, context: CallContext = NO_CONTEXT, account: AccountAccess | None = None):
    return RecordedClient(_factory("service-quotas", region, account=account), context, account=account)


def public_params(params: dict) -> dict:
    """The call's parameters without user data or anything secret-looking."""
    kept = {}
    for name, value in params.items():
        lowered = name.lower()
        if name in SECRET_PARAMETERS or (
            name not in KEPT_TOKENS and any(hint in lowered for hint in SECRET_HINTS)
        ):
            continue
        kept[name] = public_params(value) if isinstance(value, dict) else value
    return kept


# Not Describe/Get/List, yet changes nothing in the account: a session of a role (it stays in the
# call log, without a write-ahead intent or an audit row every hour per account and process).
READ_ONLY_OPERATIONS = frozenset({"AssumeRole"})


def is_mutating(operation: str) -> bool:
    return not operation.startswith(READ_ONLY_PREFIXES) and operation not in READ_ONLY_OPERATIONS


# What a mutating call's answer names that people search the audit log for: ids and addresses.
RESULT_ADDRESS_KEYS = frozenset({"CarrierIp", "PublicIp", "PrivateIpAddress", "CidrBlock"})


def result_ids(parsed: dict) -> dict[str, str]:
    """The ids and addresses in an answer (VpcId, AllocationId, CarrierIp, InstanceId…), first of
    each name, a few levels deep: so the audit search finds a row by the Carrier IP it allocated."""
    found: dict[str, str] = {}

    def walk(value, depth: int) -> None:
        if depth > 4 or len(found) >= 24:
            return
        if isinstance(value, dict):
            for key, item in value.items():
                if key == "ResponseMetadata":
                    continue
                if isinstance(item, str) and (key.endswith("Id") or key in RESULT_ADDRESS_KEYS):
                    found.setdefault(key, item)
                else:
                    walk(item, depth + 1)
        elif isinstance(value, list):
            for item in value[:5]:
                walk(item, depth + 1)

    walk(parsed, 0)
    return found


def _environment_team_slug(environment_id: int | None) -> str | None:
    """The team of the environment a call is for, as its audit trail already names it, so the
    call's audit row is found by the team filter and seen by the team (None: leave it team-less)."""
    if environment_id is None:
        return None
    from audit.models import AuditEvent

    return (
        AuditEvent.objects.filter(environment_id=environment_id)
        .exclude(team_slug="")
        .order_by("-id")
        .values_list("team_slug", flat=True)
        .first()
    )


INTENT = "intent"  # the call log's write-ahead row of a mutating call, before it is sent
RESOLVED = "resolved"  # the row that closes an intent whose answer was never recorded


class CallNotRecorded(RuntimeError):
    """A mutating call was not sent because the call log could not hold its intent."""


class CallRecorder:
    """botocore event handlers that time each call and write it to the call log."""

    def __init__(self, region: str, service: str, account_id: str = ""):
        self.region = region
        self.service = service
        self.account_id = account_id  # "" for the panel's own account

    def attach(self, client) -> None:
        events = client.meta.events
        events.register("before-parameter-build.*.*", self.started)
        events.register("after-call.*.*", self.answered)
        events.register("after-call-error.*.*", self.raised)

    def started(self, params, model, context, **_):
        context["wlpanel_started"] = time.monotonic()
        context["wlpanel_operation"] = model.name
        context["wlpanel_params"] = public_params(params)
        if is_mutating(model.name):
            self._write_intent(model.name, context["wlpanel_params"])

    def _write_intent(self, operation: str, params: dict) -> None:
        """Commit the intent of a mutating call before it is sent (write-ahead): a process killed
        during the call leaves the intent, which recovery resolves. No intent, no call."""
        from audit.services import aws_call_record

        call_context = _current_context.get() or NO_CONTEXT
        try:
            aws_call_record(
                service=self.service,
                region=self.region,
                account_id=self.account_id,
                operation=operation,
                params=params,
                mutating=True,
                outcome=INTENT,
                duration_ms=0,
                environment_id=call_context.environment_id,
                resource_key=call_context.resource_key,
                correlation_id=call_context.correlation_id,
                cause_event_id=call_context.cause_event_id,
            )
        except Exception as exc:
            raise CallNotRecorded(f"{operation} not sent: its intent could not be written to the call log") from exc

    def answered(self, http_response, parsed, model, context, **_):
        error = parsed.get("Error") or {}
        metadata = parsed.get("ResponseMetadata") or {}
        self._write(
            model.name,
            context,
            result=result_ids(parsed) if is_mutating(model.name) and not error else None,
            outcome=error.get("Code")
            or ("ok" if http_response.status_code < 300 else f"HTTP{http_response.status_code}"),
            error_message=error.get("Message", ""),
            http_status=http_response.status_code,
            request_id=metadata.get("RequestId", ""),
            retries=metadata.get("RetryAttempts", 0),
        )

    def raised(self, exception, context, **_):
        # No answer at all (timeout, refused connection) after botocore's own retries.
        operation = context.get("wlpanel_operation", "")
        self._write(operation, context, outcome=type(exception).__name__, error_message=str(exception)[:500])

    def _write(self, operation: str, context: dict, result: dict | None = None, **outcome) -> None:
        from audit.services import aws_call_record, record  # the audit app imports models at load

        call_context = _current_context.get() or NO_CONTEXT
        started = context.get("wlpanel_started", time.monotonic())
        params = context.get("wlpanel_params", {})
        fields = {
            "service": self.service,
            "region": self.region,
            "account_id": self.account_id,
            "operation": operation,
            "params": params,
            "mutating": is_mutating(operation),
            "duration_ms": int((time.monotonic() - started) * 1000),
            "environment_id": call_context.environment_id,
            "resource_key": call_context.resource_key,
            "correlation_id": call_context.correlation_id,
            "cause_event_id": call_context.cause_event_id,
            **outcome,
        }
        try:
            aws_call_record(**fields)
            if fields["mutating"]:
                team_slug = _environment_team_slug(call_context.environment_id)
                record(
                    actor=None,
                    action=f"aws.{operation}",
                    target=None,
                    source="worker",
                    target_repr=call_context.resource_key or operation,
                    environment_id=call_context.environment_id,
                    team_slug=team_slug,
                    correlation_id=call_context.correlation_id,
                    details={
                        "region": self.region,
                        **({"account_id": self.account_id} if self.account_id else {}),
                        "params": params,
                        "result": result or {},
                        "outcome": fields["outcome"],
                        "request_id": fields.get("request_id", ""),
                        "cause_event_id": call_context.cause_event_id,
                    },
                )
        except Exception:
            # A failed log write must not lose the AWS result the caller is about to store.
            log.exception("could not record AWS call %s", operation)
