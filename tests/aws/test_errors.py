"""Error classification: what each AWS failure means for the engine (pure, no AWS)."""

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from aws.errors import Action, classify, created_nothing, is_duplicate, quota_hint


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": f"{code} happened"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )


@pytest.mark.parametrize(
    ("exc", "teardown", "recent", "action"),
    [
        (client_error("RequestLimitExceeded", 503), False, False, Action.RETRY),
        (client_error("InternalError", 500), False, False, Action.RETRY),
        (EndpointConnectionError(endpoint_url="http://x"), False, False, Action.RETRY),
        (client_error("InvalidVpcID.NotFound"), False, True, Action.CONSISTENCY),
        (client_error("InvalidVpcID.NotFound"), False, False, Action.FATAL),
        (client_error("InsufficientInstanceCapacity", 500), False, False, Action.CAPACITY),
        (client_error("DependencyViolation"), True, False, Action.DEPENDENCY),
        (client_error("DependencyViolation"), False, False, Action.FATAL),
        (client_error("InvalidParameterValue"), False, True, Action.FATAL),
        (client_error("Unsupported"), False, False, Action.FATAL),
    ],
)
def test_classify(exc, teardown, recent, action):
    verdict = classify(exc, teardown=teardown, recently_created=recent)
    assert verdict.action == action
    assert verdict.retryable == (action != Action.FATAL)


def test_fatal_verdict_keeps_the_aws_message():
    verdict = classify(client_error("InvalidParameterValue"), teardown=False, recently_created=False)
    assert (verdict.code, verdict.message) == ("InvalidParameterValue", "InvalidParameterValue happened")


def test_only_a_lost_answer_leaves_a_create_outcome_unknown():
    assert created_nothing(client_error("InvalidParameterValue"))
    assert created_nothing(client_error("RequestLimitExceeded", 503))
    assert created_nothing(client_error("InsufficientInstanceCapacity", 500))
    assert not created_nothing(client_error("InternalError", 500))
    assert not created_nothing(EndpointConnectionError(endpoint_url="http://x"))


@pytest.mark.parametrize("code", ["InvalidGroup.Duplicate", "InvalidSubnet.Conflict", "RouteAlreadyExists"])
def test_an_already_exists_answer_is_not_proof_that_nothing_was_created(code):
    # After a create whose answer was lost, the thing that "already exists" is probably ours.
    assert is_duplicate(client_error(code))
    assert not created_nothing(client_error(code))
    assert not is_duplicate(client_error("InvalidParameterValue"))


def test_a_quota_refusal_names_the_quota_and_how_to_raise_it():
    vpcs = quota_hint("VpcLimitExceeded")
    addresses = quota_hint("AddressLimitExceeded")
    assert "VPCs per Region" in vpcs and "--quota-code L-F678F1CE" in vpcs
    # The build allocates Carrier IPs only: their limit (no Service Quotas code) is named first.
    assert addresses.startswith("The account has reached its limit of Carrier IPs") and "AWS Support" in addresses
    assert "L-0263D0A3" in addresses
    assert quota_hint("InvalidParameterValue") == ""
