"""Trust-policy evaluation (sandbox/trust.py): pure, no sandbox needed."""

import json

from sandbox.trust import trusts

PANEL = "arn:aws:iam::123456789012:user/wlpanel"


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal, condition=None, action="sts:AssumeRole") -> dict:
    statement = {"Effect": "Allow", "Principal": principal, "Action": action}
    if condition is not None:
        statement["Condition"] = condition
    return statement


def check(
    document: str, external_id: str | None = "ext-1", arn: str = PANEL, account: str = "123456789012"
) -> bool:
    return trusts(document, caller_arn=arn, caller_account=account, external_id=external_id)


def test_the_account_root_the_account_id_the_exact_arn_and_star_name_the_caller():
    for principal in (
        {"AWS": "arn:aws:iam::123456789012:root"},
        {"AWS": "123456789012"},
        {"AWS": [PANEL, "arn:aws:iam::999999999999:root"]},
        {"AWS": "*"},
        "*",
    ):
        assert check(policy(allow(principal)))
    assert not check(policy(allow({"AWS": "arn:aws:iam::999999999999:root"})))
    assert not check(policy(allow({"Service": "ec2.amazonaws.com"})))
    assert not check(policy(allow({"AWS": "*"}, action="sts:TagSession")))


def test_the_external_id_condition_needs_the_same_id():
    document = policy(allow({"AWS": "123456789012"}, {"StringEquals": {"sts:ExternalId": "ext-1"}}))
    assert check(document, "ext-1")
    assert not check(document, "ext-2")
    assert not check(document, None)
    like = policy(allow({"AWS": "123456789012"}, {"StringLike": {"sts:ExternalId": "ext-*"}}))
    assert check(like, "ext-9") and not check(like, "other")


def test_an_explicit_deny_wins_and_unknown_conditions_never_hold():
    assert not check(policy(allow("*"), {"Effect": "Deny", "Principal": "*", "Action": "sts:*"}))
    assert not check(policy(allow("*", {"Bool": {"aws:MultiFactorAuthPresent": "true"}})))
    assert not check(policy(allow("*", {"StringEquals": {"aws:SourceIp": "10.0.0.1"}})))
    assert not check(policy())
