"""Carrier IPs: Elastic IPs of a Wavelength Zone's network border group.

- AllocateAddress(NetworkBorderGroup=<zone>) answers a CarrierIp (no PublicIp) from a
  placeholder carrier pool; every address reports its NetworkBorderGroup and DescribeAddresses
  filters on it.
- An address only associates with a network interface of its own border group.
- ReleaseAddress of a Carrier IP needs its NetworkBorderGroup, else InvalidAddressID.NotFound
  (what AWS answers, per the Terraform provider's experience); a NetworkBorderGroup that is
  not the address's answers InvalidAddress.NotFound (ReleaseAddress API reference).
- An interface with a Carrier IP shows it as Association.CarrierIp, and its instance has no
  public IP or DNS name; an interface with neither has no Association at all.
"""

import ipaddress
import random
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.models.elastic_ip_addresses import ElasticAddress
from moto.ec2.models.elastic_network_interfaces import NetworkInterface
from moto.ec2.models.instances import Instance
from moto.ec2.responses import EC2Response
from moto.ec2.utils import add_tag_specification

from sandbox.zones import carrier_ip_pool

from .availability_zones import WavelengthZone, opt_in_check, wavelength_zone
from .errors import (
    address_not_found,
    invalid_address_not_found,
    invalid_parameter_combination,
    invalid_parameter_value,
    missing_parameter,
)
from .patching import wrap, wrap_property


class CarrierAddress(ElasticAddress):
    """An Elastic IP allocated in a Wavelength Zone's network border group.

    moto keys addresses and their interface links by ``public_ip``, so the Carrier IP is kept
    there too and hidden from responses through the serializer's explicit aliases.
    """

    # moto's model registry derives the service from the second part of the module path.
    __module__ = "moto.ec2.wlpanel_sandbox"

    class Meta:
        serialization_aliases = {"PublicIp": "hidden_public_ip"}

    hidden_public_ip = None

    def __init__(self, ec2_backend: Any, carrier_ip: str, zone: WavelengthZone, tags: dict[str, str]):
        super().__init__(ec2_backend, domain="vpc", address=carrier_ip, tags=tags)
        self.carrier_ip = carrier_ip
        self.border_group = zone.network_border_group

    def get_filter_value(self, filter_name: str, method_name: str | None = None) -> Any:
        if filter_name == "public-ip":
            return None
        return super().get_filter_value(filter_name, method_name)


def allocate_carrier_address(backend: Any, zone: WavelengthZone, tags: dict[str, str]) -> CarrierAddress:
    """Allocate a Carrier IP in ``zone`` for the backend's account."""
    address = CarrierAddress(backend, _free_carrier_ip(backend), zone, tags)
    backend.addresses.append(address)
    return address


def _free_carrier_ip(backend: Any) -> str:
    pool = ipaddress.ip_network(carrier_ip_pool())
    taken = {address.public_ip for address in backend.addresses}
    while True:
        candidate = str(pool[random.randrange(1, pool.num_addresses - 1)])
        if candidate not in taken:
            return candidate


def carrier_address_of(interface: NetworkInterface) -> CarrierAddress | None:
    """The Carrier IP associated with a network interface, if any."""
    if not interface.public_ip:
        return None
    for address in interface.ec2_backend.addresses:
        if isinstance(address, CarrierAddress) and address.public_ip == interface.public_ip:
            return address
    return None


def border_group_of(interface: NetworkInterface) -> str:
    zone = wavelength_zone(interface.subnet.availability_zone)
    return zone.network_border_group if zone else interface.ec2_backend.region_name


def _address_border_group(address: ElasticAddress) -> str:
    return getattr(address, "border_group", None) or address.ec2_backend.region_name


def _address_instance_id(address: ElasticAddress) -> str | None:
    # Stock moto answers '' when the address was associated through the interface.
    if address.instance:
        return address.instance.id
    if address.eni is not None and address.eni.instance is not None:
        return address.eni.instance.id
    return None


def _address_interface_id(address: ElasticAddress) -> str | None:
    # Stock moto answers '' for an address that is not associated.
    return address.eni.id if address.eni is not None else None


def _address_filter_value(original: Callable) -> Callable:
    def get_filter_value(self: ElasticAddress, filter_name: str, method_name: str | None = None) -> Any:
        if filter_name == "network-border-group":
            return self.network_border_group
        if filter_name == "carrier-ip":
            return getattr(self, "carrier_ip", None)
        return original(self, filter_name, method_name)

    return get_filter_value


def _allocate_address(stock: Callable) -> Callable:
    def allocate_address(self: EC2Response) -> ActionResult:
        border_group = self._get_param("NetworkBorderGroup")
        zone = wavelength_zone(border_group)
        if zone is None:
            if border_group and border_group != self.region:
                raise invalid_parameter_value(f"Invalid value '{border_group}' for NetworkBorderGroup.")
            return ActionResult({**stock(self).result, "NetworkBorderGroup": self.region})
        return _allocate_in_zone(self, zone)

    return allocate_address


def _allocate_in_zone(response: EC2Response, zone: WavelengthZone) -> ActionResult:
    backend = response.ec2_backend
    if zone.region_name != response.region:
        raise invalid_parameter_value(
            f"Invalid value '{zone.name}' for NetworkBorderGroup in {response.region}."
        )
    opt_in_check(backend, zone, what="allocate a Carrier IP")
    if response._get_param("Domain", "vpc") != "vpc":
        raise invalid_parameter_combination("A Carrier IP can only be allocated with Domain 'vpc'.")
    response.error_on_dryrun()
    tags = add_tag_specification(response._get_param("TagSpecifications", []))
    address = allocate_carrier_address(backend, zone, tags)
    return ActionResult(
        {
            "AllocationId": address.allocation_id,
            "Domain": address.domain,
            "NetworkBorderGroup": address.network_border_group,
            "CarrierIp": address.carrier_ip,
        }
    )


def _associate_address(stock: Callable) -> Callable:
    def associate_address(self: EC2Response) -> ActionResult:
        address = _requested_address(self)
        interface = _requested_interface(self)
        if address is not None and interface is not None:
            _check_same_border_group(address, interface)
        return stock(self)

    return associate_address


def _requested_address(response: EC2Response) -> ElasticAddress | None:
    backend = response.ec2_backend
    if response._get_param("AllocationId"):
        return backend.address_by_allocation([response._get_param("AllocationId")])[0]
    if response._get_param("PublicIp"):
        return backend.address_by_ip([response._get_param("PublicIp")])[0]
    return None


def _requested_interface(response: EC2Response) -> NetworkInterface | None:
    backend = response.ec2_backend
    if response._get_param("NetworkInterfaceId"):
        return backend.get_network_interface(response._get_param("NetworkInterfaceId"))
    if response._get_param("InstanceId"):
        return backend.get_instance(response._get_param("InstanceId")).nics[0]
    return None


def _check_same_border_group(address: ElasticAddress, interface: NetworkInterface) -> None:
    interface_group = border_group_of(interface)
    if address.network_border_group != interface_group:
        kind = "Carrier IP" if isinstance(address, CarrierAddress) else "Elastic IP"
        raise invalid_parameter_combination(
            f"The {kind} {address.allocation_id} belongs to network border group "
            f"{address.network_border_group} and cannot be associated with {interface.id} "
            f"in network border group {interface_group}."
        )


def check_release(response: EC2Response) -> ElasticAddress:
    """The address a ReleaseAddress names, if its border group is the one given.

    An incorrect NetworkBorderGroup answers ``InvalidAddress.NotFound`` (ReleaseAddress API
    reference); a Carrier IP released without one answers ``InvalidAddressID.NotFound``, as the
    Terraform provider saw AWS do. An unknown allocation id is ``InvalidAllocationID.NotFound``.
    """
    key = response._get_param("AllocationId") or response._get_param("PublicIp")
    if not key:
        raise missing_parameter("AllocationId")
    address = _find_address(response.ec2_backend, key)
    if address is None:
        if response._get_param("AllocationId"):
            return response.ec2_backend.address_by_allocation([key])[0]
        raise address_not_found(key)
    requested_group = response._get_param("NetworkBorderGroup")
    if requested_group is None:
        if address.network_border_group != response.region:
            raise address_not_found(key)
    elif requested_group != address.network_border_group:
        raise invalid_address_not_found(key)
    return address


def _release_address(stock: Callable) -> Callable:
    def release_address(self: EC2Response) -> ActionResult:
        check_release(self)
        return stock(self)

    return release_address


def _find_address(backend: Any, key: str | None) -> ElasticAddress | None:
    for address in backend.addresses:
        if key in (address.allocation_id, address.public_ip):
            return address
    return None


def _interface_association(original: Callable) -> Callable:
    def association(self: NetworkInterface) -> dict[str, Any] | None:
        found = original(self)
        carrier = carrier_address_of(self)
        if carrier is not None:
            found.pop("publicIp", None)
            found.pop("publicDnsName", None)
            found["carrierIp"] = carrier.carrier_ip
        # None, not {}: AWS omits the Association of an interface without a public or Carrier IP.
        return found or None

    return association


def _hidden_behind_carrier_ip(original: Callable) -> Callable:
    def public_value(self: Instance) -> str | None:
        if carrier_address_of(self.nics[0]) is not None:
            return None
        return original(self)

    return public_value


def install() -> None:
    ElasticAddress.network_border_group = property(_address_border_group)
    ElasticAddress.instance_id = property(_address_instance_id)
    ElasticAddress.network_interface_id = property(_address_interface_id)
    wrap(ElasticAddress, "get_filter_value", _address_filter_value)
    wrap_property(NetworkInterface, "association", _interface_association)
    wrap_property(Instance, "public_ip_address", _hidden_behind_carrier_ip)
    wrap_property(Instance, "public_dns_name", _hidden_behind_carrier_ip)
    wrap(EC2Response, "allocate_address", _allocate_address)
    wrap(EC2Response, "associate_address", _associate_address)
    wrap(EC2Response, "release_address", _release_address)
