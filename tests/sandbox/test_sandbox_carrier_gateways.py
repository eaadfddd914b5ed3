"""Carrier gateway lifecycle, one per VPC, route targets checked, and blackhole routes."""

import time

import pytest
from botocore.exceptions import ClientError

DEFAULT_ROUTE = "0.0.0.0/0"


def error_of(call, **params) -> dict:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return raised.value.response["Error"]


def gateway_state(ec2, gateway_id: str) -> str:
    return ec2.describe_carrier_gateways(CarrierGatewayIds=[gateway_id])["CarrierGateways"][0]["State"]


def wait_for_state(ec2, gateway_id: str, state: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while gateway_state(ec2, gateway_id) != state:
        assert time.monotonic() < deadline, f"{gateway_id} never became {state}"
        time.sleep(0.1)


def default_route(ec2, table_id: str) -> dict:
    routes = ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]["Routes"]
    return next(route for route in routes if route.get("DestinationCidrBlock") == DEFAULT_ROUTE)


def test_carrier_gateway_is_pending_then_available_and_deleting_then_deleted(control, wavelength_vpc):
    ec2, vpc_id, _ = wavelength_vpc
    control.post("pending", {"seconds": 3})

    created = ec2.create_carrier_gateway(VpcId=vpc_id)["CarrierGateway"]
    assert created["State"] == "pending"
    wait_for_state(ec2, created["CarrierGatewayId"], "available")

    deleted = ec2.delete_carrier_gateway(CarrierGatewayId=created["CarrierGatewayId"])["CarrierGateway"]
    assert deleted["State"] == "deleting"
    # The VPC is still held while its gateway is deleting.
    assert error_of(ec2.delete_vpc, VpcId=vpc_id)["Code"] == "DependencyViolation"
    wait_for_state(ec2, created["CarrierGatewayId"], "deleted")

    listed = ec2.describe_carrier_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
        "CarrierGateways"
    ]
    assert [(gateway["CarrierGatewayId"], gateway["State"]) for gateway in listed] == [
        (created["CarrierGatewayId"], "deleted")
    ]
    again = error_of(ec2.delete_carrier_gateway, CarrierGatewayId=created["CarrierGatewayId"])
    assert again["Code"] == "InvalidCarrierGatewayID.NotFound"
    assert control.get("inventory?tag=Name")["items"] == []


def test_one_carrier_gateway_per_vpc(wavelength_vpc):
    ec2, vpc_id, _ = wavelength_vpc
    first = ec2.create_carrier_gateway(VpcId=vpc_id)["CarrierGateway"]["CarrierGatewayId"]

    second = error_of(ec2.create_carrier_gateway, VpcId=vpc_id)

    assert second["Code"] == "CarrierGatewayLimitExceeded"
    assert len(ec2.describe_carrier_gateways()["CarrierGateways"]) == 1
    ec2.delete_carrier_gateway(CarrierGatewayId=first)
    replacement = ec2.create_carrier_gateway(VpcId=vpc_id)["CarrierGateway"]["CarrierGatewayId"]
    assert replacement != first
    other_vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    assert ec2.create_carrier_gateway(VpcId=other_vpc)["CarrierGateway"]["VpcId"] == other_vpc


def test_replace_route_honours_carrier_gateway_id_and_leaves_one_target(wavelength_vpc):
    ec2, vpc_id, _ = wavelength_vpc
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    cagw = ec2.create_carrier_gateway(VpcId=vpc_id)["CarrierGateway"]["CarrierGatewayId"]
    table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock=DEFAULT_ROUTE, GatewayId=igw)

    ec2.replace_route(RouteTableId=table, DestinationCidrBlock=DEFAULT_ROUTE, CarrierGatewayId=cagw)
    to_carrier = default_route(ec2, table)
    ec2.replace_route(RouteTableId=table, DestinationCidrBlock=DEFAULT_ROUTE, GatewayId=igw)
    back_to_igw = default_route(ec2, table)

    assert (to_carrier.get("CarrierGatewayId"), to_carrier.get("GatewayId"), to_carrier["State"]) == (
        cagw,
        None,
        "active",
    )
    assert (back_to_igw.get("CarrierGatewayId"), back_to_igw.get("GatewayId"), back_to_igw["State"]) == (
        None,
        igw,
        "active",
    )
    unknown = error_of(
        ec2.replace_route,
        RouteTableId=table,
        DestinationCidrBlock=DEFAULT_ROUTE,
        CarrierGatewayId="cagw-0123456789abcdef0",
    )
    assert unknown["Code"] == "InvalidCarrierGatewayID.NotFound"
    assert default_route(ec2, table).get("GatewayId") == igw


def test_route_targets_are_checked(wavelength_vpc):
    ec2, vpc_id, _ = wavelength_vpc
    table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    detached_igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    cagw = ec2.create_carrier_gateway(VpcId=vpc_id)["CarrierGateway"]["CarrierGatewayId"]

    no_target = error_of(ec2.create_route, RouteTableId=table, DestinationCidrBlock=DEFAULT_ROUTE)
    two_targets = error_of(
        ec2.create_route,
        RouteTableId=table,
        DestinationCidrBlock=DEFAULT_ROUTE,
        GatewayId=detached_igw,
        CarrierGatewayId=cagw,
    )
    other_network = error_of(
        ec2.create_route, RouteTableId=table, DestinationCidrBlock=DEFAULT_ROUTE, GatewayId=detached_igw
    )

    assert no_target["Code"] == "MissingParameter"
    assert two_targets["Code"] == "InvalidParameterCombination"
    assert other_network == {
        "Code": "InvalidParameterValue",
        "Message": f"route table {table} and network gateway {detached_igw} belong to different networks",
    }
    assert [
        route.get("GatewayId")
        for route in ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Routes"]
    ] == ["local"]


def test_route_to_a_deleted_carrier_gateway_becomes_a_blackhole(wavelength_vpc):
    ec2, vpc_id, _ = wavelength_vpc
    cagw = ec2.create_carrier_gateway(VpcId=vpc_id)["CarrierGateway"]["CarrierGatewayId"]
    table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock=DEFAULT_ROUTE, CarrierGatewayId=cagw)
    assert default_route(ec2, table)["State"] == "active"

    ec2.delete_carrier_gateway(CarrierGatewayId=cagw)

    route = default_route(ec2, table)
    assert (route["CarrierGatewayId"], route["State"]) == (cagw, "blackhole")
    new_route = error_of(
        ec2.create_route, RouteTableId=table, DestinationCidrBlock="10.9.0.0/16", CarrierGatewayId=cagw
    )
    assert new_route["Code"] == "InvalidCarrierGatewayID.NotFound"


def test_route_to_a_detached_or_deleted_internet_gateway_becomes_a_blackhole(ec2):
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock=DEFAULT_ROUTE, GatewayId=igw)

    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    detached = default_route(ec2, table)["State"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    reattached = default_route(ec2, table)["State"]
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    deleted = default_route(ec2, table)["State"]

    assert (detached, reattached, deleted) == ("blackhole", "active", "blackhole")
