"""Unimplemented actions and unsupported filters answer AWS-style XML errors (behaviour 10)."""

import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError


def test_unimplemented_action_is_an_aws_error_not_an_html_page(ec2):
    with pytest.raises(ClientError) as raised:
        ec2.get_coip_pool_usage(PoolId="ipv4pool-coip-0123456789abcdef0")

    response = raised.value.response
    assert response["Error"]["Code"] == "InvalidAction"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unsupported_filter_is_an_aws_error(ec2):
    ec2.allocate_address(Domain="vpc")

    with pytest.raises(ClientError) as raised:
        ec2.describe_addresses(Filters=[{"Name": "network-interface-owner-id", "Values": ["123456789012"]}])

    response = raised.value.response
    assert response["Error"]["Code"] == "InvalidParameterValue"
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unknown_filter_on_a_tagged_resource_is_an_aws_error(ec2):
    ec2.create_vpc(CidrBlock="10.0.0.0/16")

    with pytest.raises(ClientError) as raised:
        ec2.describe_vpcs(Filters=[{"Name": "no-such-filter", "Values": ["x"]}])

    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_error_body_is_the_ec2_xml_document(control):
    request = urllib.request.Request(
        control.url + "/",
        data=b"Action=GetCoipPoolUsage&Version=2016-11-15&PoolId=x",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "AWS4-HMAC-SHA256 Credential=sandbox/20260101/us-west-2/ec2/aws4_request, "
            "SignedHeaders=host, Signature=0",
        },
        method="POST",
    )

    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)

    body = raised.value.read().decode()
    assert raised.value.code == 400
    assert body.startswith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>InvalidAction</Code>'
    )
    assert "<RequestID>" in body


def test_control_api_answers_json_errors(control):
    with pytest.raises(urllib.error.HTTPError) as raised:
        control.post("faults", {"action": "RunInstances"})

    assert raised.value.code == 400
    assert "code is required" in raised.value.read().decode()


@pytest.mark.parametrize(
    ("protocol", "botocore_protocol"),
    [("ec2", "ec2"), ("query", "query"), ("json", "json"), ("json", "rest-json"), ("rest-xml", "rest-xml")],
)
def test_sandbox_errors_parse_as_each_protocols_client_error(protocol, botocore_protocol):
    from botocore.parsers import create_parser

    from sandbox.awsquery import AwsError

    error = AwsError("RequestLimitExceeded", "Request limit exceeded.", 503)
    response = {
        "status_code": error.status,
        "headers": dict(error.headers(protocol)),
        "body": error.body(protocol),
    }

    parsed = create_parser(botocore_protocol).parse(response, None)

    assert parsed["Error"]["Code"] == "RequestLimitExceeded"
    assert parsed["Error"]["Message"] == "Request limit exceeded."
