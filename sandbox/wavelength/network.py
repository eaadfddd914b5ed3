"""Wavelength subnets, carrier gateways and carrier routes.

- A subnet in a Wavelength Zone needs the zone's group opted in, never maps public IPs on
  launch and has no IPv6.
- CreateCarrierGateway needs an opted-in zone group in the region, and the VPC must not have
  one already (carrier_gateways.py); it honours DryRun and ClientToken (idempotency.py).
- Routes to carrier gateways are checked in routes.py.
- DescribeCarrierGateways honours tag filters (stock moto ignores them).
"""

from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.models import EC2Backend
from moto.ec2.models.subnets import Subnet
from moto.ec2.responses import EC2Response
from moto.ec2.utils import add_tag_specification, generic_filter

from .availability_zones import WavelengthZone, any_group_opted_in, opt_in_check, wavelength_zone
from .carrier_gateways import check_one_per_vpc
from .errors import (
    invalid_parameter_combination,
    invalid_parameter_value,
    opt_in_required,
)
from .patching import call_arguments, wrap

CARRIER_GATEWAY_OPT_IN_MESSAGE = "You must be opted into a wavelength zone to create a carrier gateway."
TAG_FILTER_PREFIXES = ("tag:", "tag-key", "tag-value")


def is_wavelength_subnet(subnet: Subnet) -> bool:
    return wavelength_zone(subnet.availability_zone) is not None


def vpc_has_wavelength_subnet(backend: Any, vpc_id: str) -> bool:
    return any(
        is_wavelength_subnet(subnet) for subnet in backend.describe_subnets(filters={"vpc-id": vpc_id})
    )


def _create_subnet(original: Callable) -> Callable:
    def create_subnet(self: Any, *args: Any, **kwargs: Any) -> Subnet:
        arguments = call_arguments(original, self, *args, **kwargs)
        zone = wavelength_zone(arguments.get("availability_zone") or arguments.get("availability_zone_id"))
        if zone is None:
            return original(self, *args, **kwargs)
        _check_wavelength_subnet(self, zone, arguments)
        subnet = original(self, *args, **kwargs)
        # moto maps public IPs in the first subnet of any zone; a Wavelength subnet never does.
        subnet.map_public_ip_on_launch = False
        subnet.default_for_az = False
        return subnet

    return create_subnet


def _check_wavelength_subnet(backend: Any, zone: WavelengthZone, arguments: dict[str, Any]) -> None:
    if zone.region_name != backend.region_name:
        raise invalid_parameter_value(
            f"Value ({zone.name}) for parameter availabilityZone is invalid. "
            f"The zone belongs to region {zone.region_name}, not {backend.region_name}."
        )
    opt_in_check(backend, zone)
    if arguments.get("ipv6_cidr_block") or arguments.get("ipv6_native"):
        raise invalid_parameter_combination(f"IPv6 is not supported in the Wavelength Zone {zone.name}.")


def _modify_subnet_attribute(original: Callable) -> Callable:
    def modify_subnet_attribute(self: Any, subnet_id: str, attr_name: str, attr_value: Any) -> None:
        enabling = attr_name in ("map_public_ip_on_launch", "assign_ipv6_address_on_creation") and attr_value
        if enabling and is_wavelength_subnet(self.get_subnet(subnet_id)):
            raise invalid_parameter_value(
                f"{attr_name} cannot be enabled on subnet {subnet_id}: it is in a Wavelength Zone "
                "(use a Carrier IP; Wavelength subnets have no IPv6)."
            )
        return original(self, subnet_id, attr_name, attr_value)

    return modify_subnet_attribute


def _associate_subnet_cidr_block(original: Callable) -> Callable:
    def associate_subnet_cidr_block(self: Any, subnet_id: str, ipv6_cidr_block: str) -> Any:
        if is_wavelength_subnet(self.get_subnet(subnet_id)):
            raise invalid_parameter_combination(
                f"IPv6 is not supported in the Wavelength subnet {subnet_id}."
            )
        return original(self, subnet_id, ipv6_cidr_block)

    return associate_subnet_cidr_block


def create_carrier_gateway(self: EC2Response) -> ActionResult:
    vpc_id = self._get_param("VpcId")
    tags = add_tag_specification(self._get_param("TagSpecifications", []))
    self.ec2_backend.get_vpc(vpc_id)
    if not any_group_opted_in(self.ec2_backend):
        raise opt_in_required(CARRIER_GATEWAY_OPT_IN_MESSAGE)
    self.error_on_dryrun()
    check_one_per_vpc(self.ec2_backend, vpc_id)
    gateway = self.ec2_backend.create_carrier_gateway(vpc_id=vpc_id, tags=tags)
    return ActionResult({"CarrierGateway": gateway})


def _describe_carrier_gateways(original: Callable) -> Callable:
    def describe_carrier_gateways(self: Any, ids: list[str] | None = None, filters: Any = None) -> list:
        filters = dict(filters or {})
        tag_filters = {
            name: values for name, values in filters.items() if name.startswith(TAG_FILTER_PREFIXES)
        }
        for name in tag_filters:
            del filters[name]
        return generic_filter(tag_filters, original(self, ids, filters))

    return describe_carrier_gateways


def install() -> None:
    wrap(EC2Backend, "create_subnet", _create_subnet)
    wrap(EC2Backend, "modify_subnet_attribute", _modify_subnet_attribute)
    wrap(EC2Backend, "associate_subnet_cidr_block", _associate_subnet_cidr_block)
    wrap(EC2Backend, "describe_carrier_gateways", _describe_carrier_gateways)
    EC2Response.create_carrier_gateway = create_carrier_gateway
