"""STS as AWS answers it, for the actions the panel uses: AssumeRole and GetCallerIdentity.

moto's STS lets anyone assume any role, with any external id, for as long as asked and forever
after. Here AssumeRole finds the role in IAM (moto's backend of the role's account), evaluates its
trust policy for the caller (sandbox/trust.py), checks DurationSeconds as AWS does, and issues
session credentials that the sandbox resolves to the role's account until they expire.
Other STS actions still go to moto.
"""

import re
import time
import uuid
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from moto.core import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends

from sandbox.awsquery import AwsCall, AwsError
from sandbox.credentials import Credentials, Principal
from sandbox.trust import trusts

STS_SERVICE = "sts"
NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
MIN_DURATION = 900
DEFAULT_DURATION = 3600
CHAINED_MAX_DURATION = 3600
ROLE_ARN = re.compile(
    r"^arn:aws:iam::(?P<account>\d{12}):role/(?:[\w+=,.@/-]*/)?(?P<name>[\w+=,.@-]{1,64})$", re.ASCII
)
SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$", re.ASCII)
PARTITION = "aws"

Answer = tuple[int, list[tuple[str, str]], bytes]


def handles(call: AwsCall) -> bool:
    return call.service == STS_SERVICE and call.action in ("AssumeRole", "GetCallerIdentity")


def answer(call: AwsCall, caller: Principal, credentials: Credentials) -> Answer | AwsError:
    """The STS answer to the call (call with the moto lock held: it reads IAM)."""
    if call.action == "GetCallerIdentity":
        return _xml(
            "GetCallerIdentity",
            f"<Arn>{escape(caller.arn)}</Arn><UserId>{escape(caller.user_id)}</UserId>"
            f"<Account>{caller.account}</Account>",
        )
    issued = assume_role(caller, call.params, credentials)
    if isinstance(issued, AwsError):
        return issued
    expiration = datetime.fromtimestamp(issued.expires_at or time.time(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    role_id = issued.user_id
    return _xml(
        "AssumeRole",
        f"<AssumedRoleUser><AssumedRoleId>{escape(role_id)}</AssumedRoleId><Arn>{escape(issued.arn)}</Arn>"
        "</AssumedRoleUser>"
        f"<Credentials><AccessKeyId>{issued.access_key_id}</AccessKeyId>"
        f"<SecretAccessKey>{escape(issued.secret_access_key)}</SecretAccessKey>"
        f"<SessionToken>{escape(issued.session_token or '')}</SessionToken>"
        f"<Expiration>{expiration}</Expiration></Credentials>"
        "<PackedPolicySize>0</PackedPolicySize>",
    )


def assume_role(caller: Principal, params: dict[str, str], credentials: Credentials) -> Principal | AwsError:
    """Issue session credentials for the role, or the error AWS answers."""
    role_arn = params.get("RoleArn", "")
    session_name = params.get("RoleSessionName", "")
    if not role_arn:
        return _missing("roleArn")
    if not session_name:
        return _missing("roleSessionName")
    if not SESSION_NAME.match(session_name):
        return _invalid(
            session_name, "roleSessionName", "Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        )
    duration = _duration(params.get("DurationSeconds"))
    if isinstance(duration, AwsError):
        return duration
    parsed = ROLE_ARN.match(role_arn)
    role = _role(parsed["account"], parsed["name"]) if parsed else None
    external_id = params.get("ExternalId")
    if role is None or not trusts(
        role.assume_role_policy_document,
        caller_arn=caller.arn,
        caller_account=caller.account,
        external_id=external_id,
    ):
        return AwsError(
            "AccessDenied",
            f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            403,
        )
    max_duration = int(role.max_session_duration or DEFAULT_DURATION)
    if caller.temporary and duration > CHAINED_MAX_DURATION:
        return AwsError(
            "ValidationError",
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        )
    if duration > max_duration:
        return AwsError(
            "ValidationError",
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        )
    return credentials.issue(
        account=parsed["account"],
        arn=f"arn:aws:sts::{parsed['account']}:assumed-role/{role.name}/{session_name}",
        user_id=f"{role.id}:{session_name}",
        duration=duration,
    )


def _role(account: str, name: str):  # -> moto Role | None
    # Only accounts moto already holds: looking one up must not create it.
    if account not in iam_backends and account != DEFAULT_ACCOUNT_ID:
        return None
    return next((role for role in iam_backends[account][PARTITION].get_roles() if role.name == name), None)


def _duration(raw: str | None) -> int | AwsError:
    if raw is None or raw == "":
        return DEFAULT_DURATION
    try:
        duration = int(raw)
    except ValueError:
        return AwsError("ValidationError", f"Value '{raw}' for DurationSeconds is not a valid integer.")
    if duration < MIN_DURATION:
        return _invalid(
            raw, "durationSeconds", f"Member must have value greater than or equal to {MIN_DURATION}"
        )
    if duration > 43200:
        return _invalid(raw, "durationSeconds", "Member must have value less than or equal to 43200")
    return duration


def _invalid(value: str, field: str, constraint: str) -> AwsError:
    return AwsError(
        "ValidationError",
        f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}",
    )


def _missing(field: str) -> AwsError:
    return AwsError(
        "ValidationError",
        f"1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null",
    )


def _xml(action: str, result: str) -> Answer:
    body = (
        f'<{action}Response xmlns="{NAMESPACE}"><{action}Result>{result}</{action}Result>'
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></{action}Response>"
    ).encode()
    return 200, [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))], body
