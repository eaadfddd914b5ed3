"""Wavelength subnets and carrier gateways need opt-in (behaviour 3); carrier routes need a
Wavelength subnet (behaviour 8)."""

import pytest
from botocore.exceptions import ClientError
from sandbox_helpers import PARENT_ZONE, WL_ZONE


def error_of(raised) -> dict:
    return raised.value.response["Error"]


def test_subnet_and_carrier_gateway_are_refused_before_opt_in(ec2):
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    with pytest.raises(ClientError) as subnet_refused:
        ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24", AvailabilityZone=WL_ZONE)
    with pytest.raises(ClientError) as gateway_refused:
        ec2.create_carrier_gateway(VpcId=vpc_id)

    assert error_of(subnet_refused)["Code"] == "OptInRequired"
    assert error_of(gateway_refused)["Code"] == "OptInRequired"
    assert (
        error_of(gateway_refused)["Message"]
        == "You must be opted into a wavelength zone to create a carrier gateway."
    )
    assert ec2.describe_carrier_gateways()["CarrierGateways"] == []


def test_after_opt_in_subnet_and_carrier_gateway_are_created(opted_in):
    ec2 = opted_in
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    # A carrier gateway on a VPC without a Wavelength subnet is allowed.
    gateway = ec2.create_carrier_gateway(VpcId=vpc_id)["CarrierGateway"]
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24", AvailabilityZone=WL_ZONE)["Subnet"]

    assert gateway["VpcId"] == vpc_id
    assert gateway["State"] == "available"
    assert subnet["AvailabilityZone"] == WL_ZONE
    assert subnet["AvailabilityZoneId"] == "usw2-wl1-sfo-wlz1"


def test_wavelength_subnets_never_map_public_ips_and_have_no_ipv6(wavelength_vpc):
    ec2, vpc_id, subnet_id = wavelength_vpc

    subnet = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]
    assert subnet["MapPublicIpOnLaunch"] is False
    assert subnet.get("Ipv6CidrBlockAssociationSet", []) == []
    with pytest.raises(ClientError) as public_refused:
        ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
    with pytest.raises(ClientError) as ipv6_refused:
        ec2.create_subnet(
            VpcId=vpc_id, CidrBlock="10.0.5.0/24", Ipv6CidrBlock="2600:1f14::/64", AvailabilityZone=WL_ZONE
        )
    assert error_of(public_refused)["Code"] == "InvalidParameterValue"
    assert error_of(ipv6_refused)["Code"] == "InvalidParameterCombination"


def test_subnet_in_a_zone_of_another_region_is_refused(opted_in):
    vpc_id = opted_in.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    with pytest.raises(ClientError) as raised:
        opted_in.create_subnet(
            VpcId=vpc_id, CidrBlock="10.0.0.0/24", AvailabilityZone="us-east-1-wl1-bos-wlz-1"
        )

    assert error_of(raised)["Code"] == "InvalidParameterValue"


def test_carrier_gateway_dry_run_creates_nothing(opted_in):
    vpc_id = opted_in.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    with pytest.raises(ClientError) as raised:
        opted_in.create_carrier_gateway(VpcId=vpc_id, DryRun=True)

    assert error_of(raised)["Code"] == "DryRunOperation"
    assert opted_in.describe_carrier_gateways()["CarrierGateways"] == []


def test_carrier_route_needs_a_wavelength_subnet_in_the_vpc(opted_in):
    ec2 = opted_in
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24", AvailabilityZone=PARENT_ZONE)
    gateway_id = ec2.create_carrier_gateway(VpcId=vpc_id)["CarrierGateway"]["CarrierGatewayId"]
    route_table_id = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]

    with pytest.raises(ClientError) as raised:
        ec2.create_route(
            RouteTableId=route_table_id, DestinationCidrBlock="0.0.0.0/0", CarrierGatewayId=gateway_id
        )
    assert error_of(raised)["Code"] == "InvalidParameterValue"

    ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24", AvailabilityZone=WL_ZONE)
    ec2.create_route(
        RouteTableId=route_table_id, DestinationCidrBlock="0.0.0.0/0", CarrierGatewayId=gateway_id
    )
    routes = ec2.describe_route_tables(RouteTableIds=[route_table_id])["RouteTables"][0]["Routes"]
    assert {"DestinationCidrBlock": "0.0.0.0/0", "CarrierGatewayId": gateway_id} == {
        key: value for key, value in routes[-1].items() if key in ("DestinationCidrBlock", "CarrierGatewayId")
    }


def test_carrier_route_to_an_unknown_gateway_is_refused(wavelength_vpc):
    ec2, vpc_id, _ = wavelength_vpc
    route_table_id = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]

    with pytest.raises(ClientError) as raised:
        ec2.create_route(
            RouteTableId=route_table_id,
            DestinationCidrBlock="0.0.0.0/0",
            CarrierGatewayId="cagw-0123456789abcdef0",
        )

    assert error_of(raised)["Code"] == "InvalidCarrierGatewayID.NotFound"
