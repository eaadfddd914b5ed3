"""The sandbox's Pricing API, through boto3's own `pricing` client (its JSON protocol, errors too)."""

import json

import pytest
from botocore.exceptions import ClientError

SFO_LOCATION = "US West (Verizon) - San Francisco Bay Area"


@pytest.fixture
def pricing(make_client):
    return make_client("pricing", region="us-east-1")


def test_describe_services_lists_ec2_with_its_attributes(pricing):
    answer = pricing.describe_services(ServiceCode="AmazonEC2")
    assert [service["ServiceCode"] for service in answer["Services"]] == ["AmazonEC2"]
    assert {"location", "instanceType", "operatingSystem", "tenancy", "preInstalledSw"} <= set(
        answer["Services"][0]["AttributeNames"]
    )


def test_attribute_values_list_wavelength_locations_and_page(pricing):
    first = pricing.get_attribute_values(ServiceCode="AmazonEC2", AttributeName="location", MaxResults=5)
    assert len(first["AttributeValues"]) == 5 and first["NextToken"]
    values = {item["Value"] for item in first["AttributeValues"]}
    token = first["NextToken"]
    while token:
        page = pricing.get_attribute_values(ServiceCode="AmazonEC2", AttributeName="location", NextToken=token)
        values |= {item["Value"] for item in page["AttributeValues"]}
        token = page.get("NextToken")
    assert SFO_LOCATION in values
    assert "Asia Pacific (SKT) - Daejeon" in values  # retired, still listed, as on AWS
    assert "Morocco (Casablanca)" not in values  # not in the sample file: the panel shows "no price"


def test_get_products_matches_every_term_and_labels_sample_data(pricing):
    answer = pricing.get_products(
        ServiceCode="AmazonEC2",
        Filters=[
            {"Type": "TERM_MATCH", "Field": "location", "Value": SFO_LOCATION},
            {"Type": "TERM_MATCH", "Field": "instanceType", "Value": "t3.xlarge"},
            {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Linux"},
            {"Type": "TERM_MATCH", "Field": "tenancy", "Value": "Shared"},
            {"Type": "TERM_MATCH", "Field": "preInstalledSw", "Value": "NA"},
        ],
        FormatVersion="aws_v1",
    )
    assert answer["FormatVersion"] == "aws_v1"
    [item] = answer["PriceList"]
    product = json.loads(item) if isinstance(item, str) else item
    assert product["product"]["attributes"]["instanceType"] == "t3.xlarge"
    assert product["product"]["attributes"]["location"] == SFO_LOCATION
    [term] = product["terms"]["OnDemand"].values()
    [dimension] = term["priceDimensions"].values()
    assert dimension["unit"] == "Hrs" and float(dimension["pricePerUnit"]["USD"]) > 0
    assert product["wlpanel"]["sample"] is True

    medium = pricing.get_products(
        ServiceCode="AmazonEC2",
        Filters=[
            {"Type": "TERM_MATCH", "Field": "location", "Value": SFO_LOCATION},
            {"Type": "TERM_MATCH", "Field": "instanceType", "Value": "t3.medium"},
        ],
    )["PriceList"]
    assert len(medium) == 1 and medium[0] != item


def test_errors_are_json_with_their_type(pricing):
    with pytest.raises(ClientError) as unknown:
        pricing.get_products(ServiceCode="NoSuchService")
    assert unknown.value.response["Error"]["Code"] == "NotFoundException"
    assert unknown.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as bad_token:
        pricing.get_attribute_values(ServiceCode="AmazonEC2", AttributeName="location", NextToken="not-a-token")
    assert bad_token.value.response["Error"]["Code"] == "InvalidNextTokenException"
    with pytest.raises(ClientError) as bad_filter:
        pricing.get_products(ServiceCode="AmazonEC2", Filters=[{"Type": "REGEX", "Field": "location", "Value": "US.*"}])
    assert bad_filter.value.response["Error"]["Code"] == "InvalidParameterException"
