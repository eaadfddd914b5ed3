"""DependencyViolation where EC2 refuses a delete or detach (stock moto refuses only some).

Checked on the user's call (the response handler), so moto's own clean-up inside DeleteVpc
(main route table, default security group) still works:

- DeleteSubnet: network interfaces in it, or instances not yet ``terminated`` (one still
  ``shutting-down`` keeps its interfaces on AWS).
- DeleteSecurityGroup: the VPC's default group (``CannotDelete``); a group attached to an
  interface or an instance not yet terminated, or named in another group's rule.
- DeleteVpc: subnets, security groups other than the default, route tables other than the
  main one, network ACLs other than the default, an attached internet gateway, a carrier
  gateway not ``deleted``, network interfaces.
- DeleteInternetGateway while attached; DeleteRouteTable while associated or main.
- DetachInternetGateway while the VPC has public addresses mapped (Elastic IPs associated with
  its interfaces, public IPs of its instances).

Messages follow EC2's shapes: ``The vpc 'vpc-…' has dependencies and cannot be deleted.``,
``resource sg-… has a dependent object``.
"""

from collections.abc import Callable, Iterator
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError, InvalidSecurityGroupNotFoundError
from moto.ec2.responses import EC2Response

from .addresses import CarrierAddress
from .errors import dependency_violation, has_dependencies
from .patching import wrap

TERMINATED = "terminated"


def live_instances(backend: Any) -> Iterator[Any]:
    """Instances that still hold their interfaces: everything not ``terminated``."""
    for instance in backend.all_instances():
        if instance.state != TERMINATED:
            yield instance


def interfaces_in(backend: Any, *, vpc_id: str | None = None, subnet_id: str | None = None) -> list[Any]:
    return [
        interface
        for interface in backend.enis.values()
        if (subnet_id is None or interface.subnet.id == subnet_id)
        and (vpc_id is None or interface.subnet.vpc_id == vpc_id)
    ]


def _subnet_in_use(backend: Any, subnet_id: str) -> bool:
    if interfaces_in(backend, subnet_id=subnet_id):
        return True
    return any(instance.subnet_id == subnet_id for instance in live_instances(backend))


def _delete_subnet(stock: Callable) -> Callable:
    def delete_subnet(self: EC2Response) -> ActionResult:
        subnet_id = self._get_param("SubnetId")
        self.ec2_backend.get_subnet(subnet_id)
        if _subnet_in_use(self.ec2_backend, subnet_id):
            raise has_dependencies("subnet", subnet_id)
        return stock(self)

    return delete_subnet


def group_in_use(backend: Any, group: Any) -> bool:
    """Attached to an interface or a live instance, or named in another group's rule."""
    for interface in backend.enis.values():
        if group in interface.group_set:
            return True
    for instance in live_instances(backend):
        if group in instance.security_groups:
            return True
    for groups in backend.groups.values():
        for other in groups.values():
            if other.id == group.id:
                continue
            for rule in [*other.ingress_rules, *other.egress_rules]:
                if (rule.source_group or {}).get("GroupId") == group.id:
                    return True
    return False


def _delete_security_group(stock: Callable) -> Callable:
    def delete_security_group(self: EC2Response) -> ActionResult:
        backend = self.ec2_backend
        key = self._get_param("GroupId") or self._get_param("GroupName")
        group = backend.get_security_group_from_id(key) if self._get_param("GroupId") else None
        if group is None and self._get_param("GroupName"):
            group = backend.get_security_group_from_name(key)
        if group is None:
            raise InvalidSecurityGroupNotFoundError(key)
        if group.name == "default" and group.vpc_id:
            raise EC2ClientError(
                "CannotDelete",
                f'the specified group: "{group.id}" name: "default" cannot be deleted by a user',
            )
        if group_in_use(backend, group):
            raise dependency_violation(f"resource {group.id} has a dependent object")
        return stock(self)

    return delete_security_group


def vpc_dependencies(backend: Any, vpc_id: str) -> list[str]:
    """What still holds the VPC, as ``kind id`` strings (empty: it can be deleted)."""
    found = [f"subnet {subnet.id}" for subnet in backend.describe_subnets(filters={"vpc-id": vpc_id})]
    found += [
        f"security-group {group.id}"
        for group in backend.groups.get(vpc_id, {}).values()
        if not (group.name == "default")
    ]
    found += [
        f"route-table {table.id}"
        for table in backend.route_tables.values()
        if table.vpc_id == vpc_id and table.main_association_id is None
    ]
    found += [
        f"network-acl {acl.id}"
        for acl in backend.network_acls.values()
        if acl.vpc_id == vpc_id and not acl.default
    ]
    found += [
        f"internet-gateway {gateway.id}"
        for gateway in backend.internet_gateways.values()
        if gateway.vpc is not None and gateway.vpc.id == vpc_id
    ]
    found += [
        f"carrier-gateway {gateway.id}"
        for gateway in backend.carrier_gateways.values()
        if gateway.vpc_id == vpc_id and gateway.state != "deleted"
    ]
    found += [f"network-interface {interface.id}" for interface in interfaces_in(backend, vpc_id=vpc_id)]
    return found


def _delete_vpc(stock: Callable) -> Callable:
    def delete_vpc(self: EC2Response) -> ActionResult:
        vpc_id = self._get_param("VpcId")
        self.ec2_backend.get_vpc(vpc_id)
        if vpc_dependencies(self.ec2_backend, vpc_id):
            raise has_dependencies("vpc", vpc_id)
        return stock(self)

    return delete_vpc


def _delete_internet_gateway(stock: Callable) -> Callable:
    def delete_internet_gateway(self: EC2Response) -> ActionResult:
        gateway_id = self._get_param("InternetGatewayId")
        if self.ec2_backend.get_internet_gateway(gateway_id).vpc is not None:
            raise has_dependencies("internetGateway", gateway_id)
        return stock(self)

    return delete_internet_gateway


def _delete_route_table(stock: Callable) -> Callable:
    def delete_route_table(self: EC2Response) -> ActionResult:
        table_id = self._get_param("RouteTableId")
        table = self.ec2_backend.get_route_table(table_id)
        if table.all_associations_ids:
            raise has_dependencies("routeTable", table_id)
        return stock(self)

    return delete_route_table


def mapped_public_addresses(backend: Any, vpc_id: str) -> list[str]:
    """Public IPv4 addresses reached through the VPC's internet gateway (not Carrier IPs)."""
    mapped = [
        address.public_ip
        for address in backend.addresses
        if address.eni is not None
        and address.eni.subnet.vpc_id == vpc_id
        and not isinstance(address, CarrierAddress)
    ]
    for instance in live_instances(backend):
        if (
            instance.vpc_id == vpc_id
            and instance.public_ip_address
            and instance.public_ip_address not in mapped
        ):
            mapped.append(instance.public_ip_address)
    return mapped


def _detach_internet_gateway(stock: Callable) -> Callable:
    def detach_internet_gateway(self: EC2Response) -> ActionResult:
        vpc_id = self._get_param("VpcId")
        gateway = self.ec2_backend.get_internet_gateway(self._get_param("InternetGatewayId"))
        attached_here = gateway.vpc is not None and gateway.vpc.id == vpc_id
        if attached_here and mapped_public_addresses(self.ec2_backend, vpc_id):
            raise dependency_violation(
                f"Network {vpc_id} has some mapped public address(es). "
                "Please unmap those public address(es) before detaching the gateway."
            )
        return stock(self)

    return detach_internet_gateway


def install() -> None:
    wrap(EC2Response, "delete_subnet", _delete_subnet)
    wrap(EC2Response, "delete_security_group", _delete_security_group)
    wrap(EC2Response, "delete_vpc", _delete_vpc)
    wrap(EC2Response, "delete_internet_gateway", _delete_internet_gateway)
    wrap(EC2Response, "delete_route_table", _delete_route_table)
    wrap(EC2Response, "detach_internet_gateway", _detach_internet_gateway)
