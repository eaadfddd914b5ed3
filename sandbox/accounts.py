"""Customer accounts: what a customer does in their own account so the panel can work there.

``POST /_sandbox/accounts {"account_id", "role_name", "external_id"}`` creates (or, for a role
that exists, updates the trust policy of, like UpdateAssumeRolePolicy) a real IAM role in moto's
IAM backend of that account, trusting the panel's account (``arn:aws:iam::<default>:root``) on
condition of the external id. STS AssumeRole (sandbox/sts.py) then evaluates that trust policy.
"""

import json
import re
import threading
from dataclasses import asdict, dataclass

from moto.iam.models import iam_backends

from sandbox.credentials import PANEL_PRINCIPAL

ACCOUNT_ID = re.compile(r"^\d{12}$")
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$", re.ASCII)
EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$", re.ASCII)
PARTITION = "aws"
TRUSTED_PRINCIPAL = f"arn:aws:iam::{PANEL_PRINCIPAL.account}:root"


@dataclass(frozen=True)
class CustomerAccount:
    account_id: str
    role_arn: str
    external_id: str
    trusted_principal: str


def trust_policy(external_id: str) -> dict:
    """The trust policy AWS's docs give for a third party that assumes a role with an external id."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": TRUSTED_PRINCIPAL},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }


def validated(body: dict) -> tuple[str, str, str]:
    """(account_id, role_name, external_id) from a request body, or ValueError saying what is wrong."""
    values = {}
    for name, pattern, rule in (
        ("account_id", ACCOUNT_ID, "12 digits, e.g. 111122223333"),
        ("role_name", ROLE_NAME, "1-64 characters of letters, digits and +=,.@_-"),
        ("external_id", EXTERNAL_ID, "2-1224 characters of letters, digits and +=,.@:/_-"),
    ):
        value = body.get(name)
        if value is None:
            raise ValueError(f"{name} is required ({rule})")
        if not isinstance(value, str) or not pattern.match(value):
            raise ValueError(f"{name} must be {rule}; got {value!r}")
        values[name] = value
    return values["account_id"], values["role_name"], values["external_id"]


class Accounts:
    """The customer accounts created through the control API since the last reset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._accounts: dict[tuple[str, str], CustomerAccount] = {}

    def reset(self) -> None:
        with self._lock:
            self._accounts.clear()

    def create(self, body: dict) -> CustomerAccount:
        """Create the role (or replace its trust policy). Call with the moto lock held."""
        account_id, role_name, external_id = validated(body)
        iam = iam_backends[account_id][PARTITION]
        document = json.dumps(trust_policy(external_id))
        existing = next((role for role in iam.get_roles() if role.name == role_name), None)
        if existing is None:
            role = iam.create_role(
                role_name=role_name,
                assume_role_policy_document=document,
                path="/",
                permissions_boundary=None,
                description="The role wlpanel assumes (created through the sandbox's control API)",
                tags=[],
                max_session_duration="3600",
            )
        else:
            iam.update_assume_role_policy(role_name, document)
            role = existing
        account = CustomerAccount(
            account_id=account_id,
            role_arn=role.arn,
            external_id=external_id,
            trusted_principal=TRUSTED_PRINCIPAL,
        )
        with self._lock:
            self._accounts[(account_id, role_name)] = account
        return account

    def known(self, account_id: str) -> bool:
        with self._lock:
            return any(key[0] == account_id for key in self._accounts)

    def describe(self) -> list[dict]:
        with self._lock:
            return [asdict(account) for account in self._accounts.values()]
