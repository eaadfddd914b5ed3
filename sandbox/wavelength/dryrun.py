"""DryRun on every EC2 action the product and the seed's walk-through call.

EC2 documents ``DryRun`` as a permission check: "Checks whether you have the required
permissions for the action, without actually making the request ... If you have the required
permissions, the error response is ``DryRunOperation``" (HTTP 412). Permissions are always
granted here. Stock moto checks DryRun in some handlers only, and after it has acted in some,
so a dry-run DeleteVpc deleted the VPC.

Each action below answers ``DryRunOperation`` and changes nothing; before it, the call is
checked the way EC2 does before its permission check: the ids it names must exist
(``Invalid<Type>ID.NotFound``) and a few values must be valid (a VPC's CIDR, a zone group, a
border group). State checks — dependencies, quotas, an address already associated — belong to
the real call and are not made on a dry run.
"""

import ipaddress
from collections.abc import Callable
from typing import Any

from moto.ec2.exceptions import (
    DryRunClientError,
    EC2ClientError,
    InvalidAssociationIdError,
    InvalidSecurityGroupNotFoundError,
)
from moto.ec2.responses import EC2Response

from .addresses import check_release
from .availability_zones import any_group_opted_in, check_opt_in_request, opt_in_check, wavelength_zone
from .carrier_gateways import live_carrier_gateway
from .errors import invalid_parameter_value, missing_parameter, opt_in_required
from .network import CARRIER_GATEWAY_OPT_IN_MESSAGE

Check = Callable[[EC2Response], None]


def _vpc(response: EC2Response, name: str = "VpcId") -> None:
    response.ec2_backend.get_vpc(_required(response, name))


def _subnet(response: EC2Response) -> None:
    response.ec2_backend.get_subnet(_required(response, "SubnetId"))


def _route_table(response: EC2Response) -> None:
    response.ec2_backend.get_route_table(_required(response, "RouteTableId"))


def _internet_gateway(response: EC2Response) -> None:
    response.ec2_backend.get_internet_gateway(_required(response, "InternetGatewayId"))


def _group(response: EC2Response) -> None:
    group_id = _required(response, "GroupId")
    if response.ec2_backend.get_security_group_from_id(group_id) is None:
        raise InvalidSecurityGroupNotFoundError(group_id)


def _network_acl(response: EC2Response) -> None:
    response.ec2_backend.get_network_acl(_required(response, "NetworkAclId"))


def _carrier_gateway(response: EC2Response) -> None:
    live_carrier_gateway(response.ec2_backend, _required(response, "CarrierGatewayId"))


def _instances(response: EC2Response) -> None:
    instance_ids = response._get_param("InstanceIds", [])
    if not instance_ids:
        raise missing_parameter("InstanceIds")
    response.ec2_backend.get_multi_instances_by_id(instance_ids)


def _route_targets(response: EC2Response) -> None:
    _route_table(response)
    backend = response.ec2_backend
    if response._get_param("GatewayId", "").startswith("igw-"):
        backend.get_internet_gateway(response._get_param("GatewayId"))
    if response._get_param("CarrierGatewayId"):
        _carrier_gateway(response)
    if response._get_param("NetworkInterfaceId"):
        backend.get_network_interface(response._get_param("NetworkInterfaceId"))
    if response._get_param("InstanceId"):
        backend.get_instance(response._get_param("InstanceId"))


def _create_vpc(response: EC2Response) -> None:
    cidr = _required(response, "CidrBlock")
    try:
        network = ipaddress.IPv4Network(cidr)
    except ValueError:
        raise invalid_parameter_value(
            f"Value ({cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block."
        ) from None
    if not 16 <= network.prefixlen <= 28:
        raise EC2ClientError("InvalidVpc.Range", f"The CIDR '{cidr}' is invalid.")


def _create_subnet(response: EC2Response) -> None:
    _vpc(response)
    _required(response, "CidrBlock")
    zone = wavelength_zone(
        response._get_param("AvailabilityZone") or response._get_param("AvailabilityZoneId")
    )
    if zone is not None:
        opt_in_check(response.ec2_backend, zone)


def _associate_route_table(response: EC2Response) -> None:
    _route_table(response)
    if response._get_param("SubnetId"):
        _subnet(response)
    elif response._get_param("GatewayId"):
        response.ec2_backend.get_internet_gateway(response._get_param("GatewayId"))
    else:
        raise missing_parameter("SubnetId")


def _disassociate_route_table(response: EC2Response) -> None:
    association_id = _required(response, "AssociationId")
    found = response.ec2_backend.describe_route_tables(
        filters={"association.route-table-association-id": [association_id]}
    )
    if not found:
        raise InvalidAssociationIdError(association_id)


def _gateway_and_vpc(response: EC2Response) -> None:
    _internet_gateway(response)
    _vpc(response)


def _create_security_group(response: EC2Response) -> None:
    _required(response, "GroupName")
    _required(response, "Description")
    if response._get_param("VpcId"):
        _vpc(response)


def _create_carrier_gateway(response: EC2Response) -> None:
    _vpc(response)
    if not any_group_opted_in(response.ec2_backend):
        raise opt_in_required(CARRIER_GATEWAY_OPT_IN_MESSAGE)


def _network_acl_entry(response: EC2Response) -> None:
    _network_acl(response)
    _required(response, "RuleNumber")


def _key_name(response: EC2Response) -> None:
    _required(response, "KeyName")


def _import_key_pair(response: EC2Response) -> None:
    _required(response, "KeyName")
    _required(response, "PublicKeyMaterial")


def _tags(response: EC2Response) -> None:
    if not response._get_param("Resources", []):
        raise missing_parameter("Resources")


def _run_instances(response: EC2Response) -> None:
    backend = response.ec2_backend
    image_id = _required(response, "ImageId")
    backend.describe_images(ami_ids=[image_id])
    if response._get_param("SubnetId"):
        _subnet(response)
    for interface in response._get_param("NetworkInterfaces", []):
        if interface.get("SubnetId"):
            backend.get_subnet(interface["SubnetId"])
    for group_id in response._get_param("SecurityGroupIds", []):
        if backend.get_security_group_from_id(group_id) is None:
            raise InvalidSecurityGroupNotFoundError(group_id)


def _allocate_address(response: EC2Response) -> None:
    border_group = response._get_param("NetworkBorderGroup")
    zone = wavelength_zone(border_group)
    if zone is None:
        if border_group and border_group != response.region:
            raise invalid_parameter_value(f"Invalid value '{border_group}' for NetworkBorderGroup.")
        return
    if zone.region_name != response.region:
        raise invalid_parameter_value(
            f"Invalid value '{zone.name}' for NetworkBorderGroup in {response.region}."
        )
    opt_in_check(response.ec2_backend, zone, what="allocate a Carrier IP")


def _associate_address(response: EC2Response) -> None:
    backend = response.ec2_backend
    backend.address_by_allocation([_required(response, "AllocationId")])
    if response._get_param("NetworkInterfaceId"):
        backend.get_network_interface(response._get_param("NetworkInterfaceId"))
    elif response._get_param("InstanceId"):
        backend.get_instance(response._get_param("InstanceId"))
    else:
        raise missing_parameter("NetworkInterfaceId")


def _disassociate_address(response: EC2Response) -> None:
    response.ec2_backend.address_by_association([_required(response, "AssociationId")])


def _release_address(response: EC2Response) -> None:
    # addresses.py owns the border-group rule; it is checked the same way as for a real call.
    check_release(response)


def _modify_availability_zone_group(response: EC2Response) -> None:
    check_opt_in_request(
        response.ec2_backend, _required(response, "GroupName"), _required(response, "OptInStatus")
    )


def _required(response: EC2Response, name: str) -> Any:
    value = response._get_param(name)
    if value in (None, ""):
        raise missing_parameter(name)
    return value


# Every EC2 action the product calls (and the seed's walk-through), with what a dry run checks.
DRY_RUN_CHECKS: dict[str, Check] = {
    "create_vpc": _create_vpc,
    "delete_vpc": _vpc,
    "create_subnet": _create_subnet,
    "delete_subnet": _subnet,
    "create_internet_gateway": lambda response: None,
    "delete_internet_gateway": _internet_gateway,
    "attach_internet_gateway": _gateway_and_vpc,
    "detach_internet_gateway": _gateway_and_vpc,
    "create_route_table": _vpc,
    "delete_route_table": _route_table,
    "associate_route_table": _associate_route_table,
    "disassociate_route_table": _disassociate_route_table,
    "create_route": _route_targets,
    "replace_route": _route_targets,
    "delete_route": _route_table,
    "create_security_group": _create_security_group,
    "delete_security_group": _group,
    "authorize_security_group_ingress": _group,
    "authorize_security_group_egress": _group,
    "revoke_security_group_ingress": _group,
    "revoke_security_group_egress": _group,
    "create_carrier_gateway": _create_carrier_gateway,
    "delete_carrier_gateway": _carrier_gateway,
    "create_network_acl": _vpc,
    "delete_network_acl": _network_acl,
    "create_network_acl_entry": _network_acl_entry,
    "replace_network_acl_entry": _network_acl_entry,
    "delete_network_acl_entry": _network_acl_entry,
    "create_key_pair": _key_name,
    "import_key_pair": _import_key_pair,
    "delete_key_pair": _key_name,
    "create_tags": _tags,
    "delete_tags": _tags,
    "run_instances": _run_instances,
    "terminate_instances": _instances,
    "allocate_address": _allocate_address,
    "associate_address": _associate_address,
    "disassociate_address": _disassociate_address,
    "release_address": _release_address,
    "modify_availability_zone_group": _modify_availability_zone_group,
}


def guard(handler: Callable, check: Check) -> Callable:
    """Wrap a response handler: with DryRun, check the call, answer DryRunOperation, do nothing."""

    def dry_run_guarded(self: EC2Response) -> Any:
        if _is_dry_run(self):
            check(self)
            raise DryRunClientError()
        return handler(self)

    dry_run_guarded.__name__ = handler.__name__
    dry_run_guarded.__wrapped__ = handler
    return dry_run_guarded


def _is_dry_run(response: EC2Response) -> bool:
    value = response._get_param("DryRun", False)
    return value is True or str(value).lower() == "true"


def install() -> None:
    for name, check in DRY_RUN_CHECKS.items():
        setattr(EC2Response, name, guard(getattr(EC2Response, name), check))
