"""Does a role's trust policy let this caller assume it? IAM's evaluation, for the subset of the
policy language that trust policies use. Pure: a policy document in, a yes or no out.

An explicit Deny wins, then any Allow; nothing matching means no. A statement matches when its
action covers ``sts:AssumeRole``, its AWS principal names the caller (its ARN, its account as an
ID or ``arn:aws:iam::ID:root``, or ``*``) and every condition holds. Conditions on keys other than
``sts:ExternalId`` and ``aws:PrincipalAccount``, or with operators not below, never hold: the
sandbox refuses what it cannot evaluate rather than grant it.
"""

import fnmatch
import json
import re
from typing import Any

ACTION = "sts:AssumeRole"
ACCOUNT_ROOT = re.compile(r"^arn:aws:iam::(?P<account>\d{12}):root$")


def trusts(policy: str | dict, *, caller_arn: str, caller_account: str, external_id: str | None) -> bool:
    """Whether ``policy`` (a JSON string or its parsed document) allows the caller to assume the role."""
    document = json.loads(policy) if isinstance(policy, str) else policy
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    context = {"sts:externalid": external_id, "aws:principalaccount": caller_account}
    matching = [
        statement.get("Effect")
        for statement in statements
        if _action_matches(statement)
        and _principal_matches(statement.get("Principal"), caller_arn, caller_account)
        and _conditions_hold(statement.get("Condition", {}), context)
    ]
    return "Allow" in matching and "Deny" not in matching


def _listed(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _action_matches(statement: dict) -> bool:
    return any(
        fnmatch.fnmatchcase(ACTION.lower(), str(action).lower())
        for action in _listed(statement.get("Action", []))
    )


def _principal_matches(principal: Any, caller_arn: str, caller_account: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for name in _listed(principal.get("AWS", [])):
        root = ACCOUNT_ROOT.match(name)
        if (
            name == "*"
            or name == caller_arn
            or name == caller_account
            or (root and root["account"] == caller_account)
        ):
            return True
    return False


def _conditions_hold(conditions: dict, context: dict[str, str | None]) -> bool:
    for operator, tests in conditions.items():
        for key, expected in tests.items():
            if not _holds(operator, context.get(key.lower()), [str(value) for value in _listed(expected)]):
                return False
    return True


def _holds(operator: str, actual: str | None, expected: list[str]) -> bool:
    if operator == "StringNotEquals":
        return actual is None or actual not in expected  # IAM: a negated test holds for a missing key
    if actual is None:
        return False
    if operator == "StringEquals":
        return actual in expected
    if operator == "StringLike":
        return any(fnmatch.fnmatchcase(actual, pattern) for pattern in expected)
    return False
