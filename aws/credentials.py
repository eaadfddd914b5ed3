"""Credentials per AWS account: STS AssumeRole with an external id, cached in memory, refreshed.

The panel holds no keys of the accounts it builds in. Each account names a role that trusts the
panel's own principal (boto3's default chain on AWS; the sandbox's panel key locally) on condition
of an external id; a botocore session per account assumes it on first use and again shortly
before the session expires (botocore's `RefreshableCredentials`), so a credential expiring in the
middle of a build is replaced between two calls instead of failing one. Nothing is stored.
"""

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.credentials import CredentialProvider, RefreshableCredentials
from django.conf import settings

# AWS's default and minimum session lengths for AssumeRole (IAM user guide, "Role session duration").
DEFAULT_SESSION_SECONDS = 3600
MINIMUM_SESSION_SECONDS = 900
# botocore refreshes 15 min (advisory) / 10 min (mandatory) before expiry; a session shorter than
# that (the sandbox can cap sessions to seconds for tests) gets windows in proportion.
ADVISORY_REFRESH_SECONDS = 15 * 60
MANDATORY_REFRESH_SECONDS = 10 * 60


@dataclass(frozen=True)
class AccountAccess:
    """How to act in one AWS account: the role to assume and the external id its trust requires."""

    account_id: str
    role_arn: str
    external_id: str
    session_name: str = "wlpanel"

    def __str__(self) -> str:
        return self.account_id


class RoleAssumer:
    """Assumes one account's role through an STS client that acts as the panel's own principal."""

    def __init__(self, access: AccountAccess, sts_client):
        self.access = access
        self.sts = sts_client

    def fetch(self) -> dict:
        """The botocore credential metadata of a fresh session (access key, secret, token, expiry)."""
        answer = self.sts.assume_role(
            RoleArn=self.access.role_arn,
            RoleSessionName=self.access.session_name,
            ExternalId=self.access.external_id,
            DurationSeconds=session_seconds(),
        )
        credentials = answer["Credentials"]
        expiration = credentials["Expiration"]
        if isinstance(expiration, datetime) and expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=UTC)
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": expiration.isoformat() if isinstance(expiration, datetime) else str(expiration),
        }

    def credentials(self) -> RefreshableCredentials:
        first = self.fetch()
        lifetime = (datetime.fromisoformat(first["expiry_time"]) - datetime.now(UTC)).total_seconds()
        return RefreshableCredentials.create_from_metadata(
            metadata=first,
            refresh_using=self.fetch,
            method="assume-role",
            advisory_timeout=min(ADVISORY_REFRESH_SECONDS, max(1, int(lifetime * 0.3))),
            mandatory_timeout=min(MANDATORY_REFRESH_SECONDS, max(1, int(lifetime * 0.15))),
        )


class AssumedRoleProvider(CredentialProvider):
    """botocore's credential chain, reduced to one assumed role: loaded lazily, on the first call."""

    METHOD = "wlpanel-assume-role"
    CANONICAL_NAME = "custom-wlpanel-assume-role"

    def __init__(self, assumer: RoleAssumer):
        super().__init__()
        self._assumer = assumer
        self._lock = threading.Lock()
        self._credentials: RefreshableCredentials | None = None

    def load(self) -> RefreshableCredentials:
        with self._lock:
            if self._credentials is None:
                self._credentials = self._assumer.credentials()
            return self._credentials


def session_seconds() -> int:
    seconds = int(getattr(settings, "WLPANEL_AWS_SESSION_SECONDS", DEFAULT_SESSION_SECONDS))
    return max(MINIMUM_SESSION_SECONDS, seconds)
