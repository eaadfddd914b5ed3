"""Routes: targets checked on CreateRoute and ReplaceRoute, and ``blackhole`` when a target goes.

- Exactly one target per route. An internet gateway must be attached to the route table's VPC
  ("route table … and network gateway … belong to different networks"). A carrier gateway must
  exist and not be ``deleted``, belong to the route table's VPC, and the VPC must contain a
  Wavelength subnet (CreateRoute reference on ``CarrierGatewayId``).
- ReplaceRoute honours ``CarrierGatewayId`` (stock moto ignores it) and leaves the route with
  the one target it names (stock moto could leave two).
- A route's State is ``blackhole`` when its target is gone: a carrier gateway ``deleting`` or
  ``deleted`` (VPC user guide, "Carrier gateways"), an internet gateway detached from the VPC or
  deleted, an instance not running, an interface deleted.
"""

from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.route_tables import Route
from moto.ec2.responses import EC2Response
from moto.ec2.utils import generate_route_id

from .carrier_gateways import AVAILABLE, PENDING, live_carrier_gateway
from .errors import invalid_parameter_value
from .network import vpc_has_wavelength_subnet
from .patching import wrap

TARGET_PARAMETERS = (
    "GatewayId",
    "CarrierGatewayId",
    "NatGatewayId",
    "InstanceId",
    "NetworkInterfaceId",
    "TransitGatewayId",
    "VpcPeeringConnectionId",
    "EgressOnlyInternetGatewayId",
    "LocalGatewayId",
    "VpcEndpointId",
    "CoreNetworkArn",
)
ACTIVE = "active"
BLACKHOLE = "blackhole"


def _check_targets(response: EC2Response) -> None:
    named = [name for name in TARGET_PARAMETERS if response._get_param(name)]
    if not named:
        raise EC2ClientError(
            "MissingParameter",
            "The request must contain exactly one of gatewayId, carrierGatewayId, natGatewayId, "
            "networkInterfaceId, instanceId, vpcPeeringConnectionId, transitGatewayId or egressOnlyInternetGatewayId.",
        )
    if len(named) > 1:
        raise EC2ClientError(
            "InvalidParameterCombination",
            f"The parameters {' and '.join(named)} cannot be used together: a route has one target.",
        )
    backend = response.ec2_backend
    table = backend.get_route_table(response._get_param("RouteTableId"))
    gateway_id = response._get_param("GatewayId")
    if gateway_id and gateway_id.startswith("igw-"):
        gateway = backend.get_internet_gateway(gateway_id)
        if gateway.vpc is None or gateway.vpc.id != table.vpc_id:
            raise invalid_parameter_value(
                f"route table {table.id} and network gateway {gateway_id} belong to different networks"
            )
    carrier_gateway_id = response._get_param("CarrierGatewayId")
    if carrier_gateway_id:
        check_carrier_route(backend, table, carrier_gateway_id)


def check_carrier_route(backend: Any, table: Any, gateway_id: str) -> None:
    gateway = live_carrier_gateway(backend, gateway_id)
    if gateway.vpc_id != table.vpc_id:
        raise invalid_parameter_value(
            f"Carrier gateway {gateway_id} is attached to {gateway.vpc_id}, not to {table.vpc_id}."
        )
    if not vpc_has_wavelength_subnet(backend, table.vpc_id):
        raise invalid_parameter_value(
            f"CarrierGatewayId can only be used when the VPC ({table.vpc_id}) contains a subnet "
            "which is associated with a Wavelength Zone."
        )


def _create_route(stock: Callable) -> Callable:
    def create_route(self: EC2Response) -> ActionResult:
        _check_targets(self)
        return stock(self)

    return create_route


def _replace_route(stock: Callable) -> Callable:
    def replace_route(self: EC2Response) -> ActionResult:
        _check_targets(self)
        result = stock(self)
        table_id = self._get_param("RouteTableId")
        route_id = generate_route_id(
            table_id,
            self._get_param("DestinationCidrBlock"),
            self._get_param("DestinationIpv6CidrBlock"),
            self._get_param("DestinationPrefixListId"),
        )
        route = self.ec2_backend.get_route_table(table_id)._routes[route_id]
        carrier_gateway_id = self._get_param("CarrierGatewayId")
        route.carrier_gateway = (
            self.ec2_backend.carrier_gateways[carrier_gateway_id] if carrier_gateway_id else None
        )
        return result

    return replace_route


def route_state(route: Route) -> str:
    """``blackhole`` when the route's target is gone, else ``active``."""
    backend = route.route_table.ec2_backend
    vpc_id = route.route_table.vpc_id
    if route.carrier_gateway is not None:
        known = backend.carrier_gateways.get(route.carrier_gateway.id) is route.carrier_gateway
        if not known or route.carrier_gateway.state not in (PENDING, AVAILABLE):
            return BLACKHOLE
    gateway = route.gateway
    if gateway is not None and getattr(gateway, "id", "").startswith("igw-"):
        attached = gateway.vpc is not None and gateway.vpc.id == vpc_id
        if not attached or backend.internet_gateways.get(gateway.id) is not gateway:
            return BLACKHOLE
    if route.instance is not None and route.instance.state != "running":
        return BLACKHOLE
    if route.interface is not None and backend.enis.get(route.interface.id) is not route.interface:
        return BLACKHOLE
    return ACTIVE


def install() -> None:
    wrap(EC2Response, "create_route", _create_route)
    wrap(EC2Response, "replace_route", _replace_route)
    Route.state = property(route_state)
