"""Who is calling: access key ids resolved to principals (an account and an ARN) as AWS resolves
them, and the temporary sessions that AssumeRole issues. No moto here.

The panel's own key (``sandbox``/``sandbox``) is an IAM user of the default account. Session keys
(``ASIA...``) belong to the role's account, need their session token, and stop working when they
expire. Any other key id is refused, in the protocol of the service called.
"""

import os
import secrets
import string
import threading
import time
from dataclasses import dataclass

from moto.core import DEFAULT_ACCOUNT_ID

from sandbox.awsquery import EC2_PROTOCOL, JSON_PROTOCOL, QUERY_PROTOCOL, REST_XML_PROTOCOL, AwsError
from sandbox.wavelength.settings import BoundedSeconds

PANEL_ACCESS_KEY_ID = "sandbox"
PANEL_SECRET_ACCESS_KEY = "sandbox"
PANEL_USER_NAME = "wlpanel"
SESSION_KEY_PREFIX = "ASIA"
MAX_SESSION_SECONDS = 43200  # AssumeRole's maximum DurationSeconds
SESSION_SECONDS_ENV = "WLPANEL_SANDBOX_SESSION_SECONDS"

# Caps the real lifetime of every session issued from now on (None: as asked, as on AWS), so a
# test can watch a credential expire; the Expiration in the answer says the capped time.
session_cap = BoundedSeconds(None, minimum=1, maximum=MAX_SESSION_SECONDS, name="session", optional=True)

MISSING = "missing"
UNKNOWN_KEY = "unknown-key"
BAD_TOKEN = "bad-token"
EXPIRED = "expired"

_INVALID_TOKEN = "The security token included in the request is invalid."
_EXPIRED_TOKEN = "The security token included in the request is expired"
_EC2_AUTH_FAILURE = AwsError(
    "AuthFailure", "AWS was not able to validate the provided access credentials", 401
)
# (problem, protocol) -> the error AWS answers; docs/sandbox.md lists the sources.
AUTH_ERRORS: dict[tuple[str, str], AwsError] = {
    (MISSING, EC2_PROTOCOL): AwsError(
        "MissingAuthenticationToken",
        "The request must contain either a valid (registered) AWS access key ID or X.509 certificate.",
        401,
    ),
    (MISSING, QUERY_PROTOCOL): AwsError(
        "MissingAuthenticationToken", "Request is missing Authentication Token", 403
    ),
    (MISSING, JSON_PROTOCOL): AwsError(
        "MissingAuthenticationTokenException", "Missing Authentication Token", 403
    ),
    (MISSING, REST_XML_PROTOCOL): AwsError("AccessDenied", "Access Denied", 403),
    (UNKNOWN_KEY, EC2_PROTOCOL): _EC2_AUTH_FAILURE,
    (UNKNOWN_KEY, QUERY_PROTOCOL): AwsError("InvalidClientTokenId", _INVALID_TOKEN, 403),
    (UNKNOWN_KEY, JSON_PROTOCOL): AwsError("UnrecognizedClientException", _INVALID_TOKEN, 400),
    (UNKNOWN_KEY, REST_XML_PROTOCOL): AwsError(
        "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", 403
    ),
    (BAD_TOKEN, EC2_PROTOCOL): _EC2_AUTH_FAILURE,
    (BAD_TOKEN, QUERY_PROTOCOL): AwsError("InvalidClientTokenId", _INVALID_TOKEN, 403),
    (BAD_TOKEN, JSON_PROTOCOL): AwsError("UnrecognizedClientException", _INVALID_TOKEN, 400),
    (BAD_TOKEN, REST_XML_PROTOCOL): AwsError(
        "InvalidToken", "The provided token is malformed or otherwise invalid.", 400
    ),
    (EXPIRED, EC2_PROTOCOL): AwsError("RequestExpired", "Request has expired.", 400),
    (EXPIRED, QUERY_PROTOCOL): AwsError("ExpiredToken", _EXPIRED_TOKEN, 403),
    (EXPIRED, JSON_PROTOCOL): AwsError("ExpiredTokenException", _EXPIRED_TOKEN, 400),
    (EXPIRED, REST_XML_PROTOCOL): AwsError("ExpiredToken", "The provided token has expired.", 400),
}


def auth_error(problem: str, protocol: str) -> AwsError:
    return AUTH_ERRORS[(problem, protocol)]


@dataclass(frozen=True)
class Principal:
    """The identity behind an access key id."""

    access_key_id: str
    secret_access_key: str
    account: str
    arn: str
    user_id: str
    session_token: str | None = None  # set for temporary credentials only
    expires_at: float | None = None  # epoch seconds (wall clock, as Expiration is)
    duration_asked: int | None = None

    @property
    def temporary(self) -> bool:
        return self.session_token is not None

    def describe(self) -> dict:
        """What the control API shows (never the secret or the token)."""
        return {
            "access_key_id": self.access_key_id,
            "account": self.account,
            "arn": self.arn,
            "expires_at": self.expires_at,
        }


PANEL_PRINCIPAL = Principal(
    access_key_id=PANEL_ACCESS_KEY_ID,
    secret_access_key=PANEL_SECRET_ACCESS_KEY,
    account=DEFAULT_ACCOUNT_ID,
    arn=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:user/{PANEL_USER_NAME}",
    user_id="AIDASANDBOXWLPANEL000",
)


def session_seconds_from_env() -> float | None:
    """The session cap that ``WLPANEL_SANDBOX_SESSION_SECONDS`` asks for (unset or empty: none)."""
    raw = os.environ.get(SESSION_SECONDS_ENV, "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{SESSION_SECONDS_ENV} must be a number of seconds, not {raw!r}") from None


def _random(alphabet: str, length: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


class Credentials:
    """Access key id -> principal: the panel's key and every session issued since the last reset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._principals: dict[str, Principal] = {}
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._principals = {PANEL_PRINCIPAL.access_key_id: PANEL_PRINCIPAL}

    def authenticate(
        self, access_key_id: str | None, session_token: str | None, now: float | None = None
    ) -> Principal | str:
        """The caller, or the problem (MISSING, UNKNOWN_KEY, BAD_TOKEN, EXPIRED) to refuse it for."""
        if not access_key_id:
            return MISSING
        with self._lock:
            principal = self._principals.get(access_key_id)
        if principal is None:
            return UNKNOWN_KEY
        if not principal.temporary:
            return BAD_TOKEN if session_token else principal
        if not session_token or not secrets.compare_digest(session_token, principal.session_token or ""):
            return BAD_TOKEN
        if principal.expires_at is not None and (time.time() if now is None else now) >= principal.expires_at:
            return EXPIRED
        return principal

    def issue(
        self, *, account: str, arn: str, user_id: str, duration: int, now: float | None = None
    ) -> Principal:
        """New temporary credentials for ``duration`` seconds, or less under the session cap."""
        now = time.time() if now is None else now
        cap = session_cap.seconds
        lifetime = duration if cap is None else min(duration, cap)
        principal = Principal(
            access_key_id=SESSION_KEY_PREFIX + _random(string.ascii_uppercase + string.digits, 16),
            secret_access_key=_random(string.ascii_letters + string.digits + "+/", 40),
            account=account,
            arn=arn,
            user_id=user_id,
            session_token=secrets.token_urlsafe(192),
            # Whole seconds, as the Expiration timestamp shows them: the answer never outlives the key.
            expires_at=float(int(now + lifetime)),
            duration_asked=duration,
        )
        with self._lock:
            self._principals[principal.access_key_id] = principal
        return principal

    def sessions(self, account: str | None = None) -> list[dict]:
        with self._lock:
            found = [principal for principal in self._principals.values() if principal.temporary]
        return [
            principal.describe() for principal in found if account is None or principal.account == account
        ]
