"""ClientToken for RunInstances, CreateCarrierGateway and CreateRouteTable (behaviour 7)."""

import pytest
from botocore.exceptions import ClientError


def mismatch_code(call, **kwargs) -> str:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return raised.value.response["Error"]["Code"]


def test_run_instances_client_token(wavelength_vpc, image_id):
    ec2, _, subnet_id = wavelength_vpc
    request = {
        "ImageId": image_id,
        "InstanceType": "t3.medium",
        "MinCount": 1,
        "MaxCount": 1,
        "SubnetId": subnet_id,
    }

    first = ec2.run_instances(ClientToken="env-42-wl-instance", **request)
    again = ec2.run_instances(ClientToken="env-42-wl-instance", **request)

    assert again["Instances"][0]["InstanceId"] == first["Instances"][0]["InstanceId"]
    assert again["ReservationId"] == first["ReservationId"]
    assert len(ec2.describe_instances()["Reservations"]) == 1
    assert (
        mismatch_code(
            ec2.run_instances, ClientToken="env-42-wl-instance", **{**request, "InstanceType": "t3.xlarge"}
        )
        == "IdempotentParameterMismatch"
    )


def test_create_carrier_gateway_client_token(wavelength_vpc):
    ec2, vpc_id, _ = wavelength_vpc
    other_vpc_id = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]

    first = ec2.create_carrier_gateway(VpcId=vpc_id, ClientToken="env-42-cagw")["CarrierGateway"]
    again = ec2.create_carrier_gateway(VpcId=vpc_id, ClientToken="env-42-cagw")["CarrierGateway"]

    assert again == first
    assert len(ec2.describe_carrier_gateways()["CarrierGateways"]) == 1
    assert (
        mismatch_code(ec2.create_carrier_gateway, VpcId=other_vpc_id, ClientToken="env-42-cagw")
        == "IdempotentParameterMismatch"
    )


def test_create_route_table_client_token(wavelength_vpc):
    ec2, vpc_id, _ = wavelength_vpc
    other_vpc_id = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    tables_before = len(ec2.describe_route_tables()["RouteTables"])

    first = ec2.create_route_table(VpcId=vpc_id, ClientToken="env-42-rtb")
    again = ec2.create_route_table(VpcId=vpc_id, ClientToken="env-42-rtb")

    assert again["RouteTable"]["RouteTableId"] == first["RouteTable"]["RouteTableId"]
    assert again["ClientToken"] == "env-42-rtb"
    assert len(ec2.describe_route_tables()["RouteTables"]) == tables_before + 1
    assert (
        mismatch_code(ec2.create_route_table, VpcId=other_vpc_id, ClientToken="env-42-rtb")
        == "IdempotentParameterMismatch"
    )


def test_tokens_are_per_region(wavelength_vpc, make_client):
    ec2, vpc_id, _ = wavelength_vpc
    east = make_client(region="us-east-1")
    east_vpc_id = east.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    west_table = ec2.create_route_table(VpcId=vpc_id, ClientToken="shared-token")["RouteTable"]
    east_table = east.create_route_table(VpcId=east_vpc_id, ClientToken="shared-token")["RouteTable"]

    assert west_table["RouteTableId"] != east_table["RouteTableId"]


def test_without_a_token_botocore_fills_a_fresh_one(wavelength_vpc):
    ec2, vpc_id, _ = wavelength_vpc

    first = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    second = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]

    assert first != second
