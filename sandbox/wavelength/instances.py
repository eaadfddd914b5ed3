"""RunInstances in Wavelength Zones, and instances that stay pending for a while.

- In a Wavelength subnet only the zone's offered instance types launch (else ``Unsupported``),
  EBS volumes must be gp2, and public IPs are refused; ``AssociateCarrierIpAddress`` on the
  primary interface allocates and associates a Carrier IP at launch.
- Every new instance is ``pending`` for the configured time, then ``running`` (stock moto makes
  them running at once, so no waiter ever waits).
- Interfaces created by the launch are deleted with the instance (AWS's default
  DeleteOnTermination; stock moto keeps them), and terminating a terminated instance is a
  no-op, as AWS's idempotent TerminateInstances is.
- The root volume (the AMI's RootDeviceName) is deleted on termination unless the mapping says
  ``DeleteOnTermination: false`` ("By default, the DeleteOnTermination attribute for the root
  volume of an instance is set to true", EC2 user guide); stock moto kept it whenever a block
  device mapping was given. Mappings that do not name the root device still get one (moto
  created none). Other volumes keep EC2's default (false) and stay ``available`` after the
  instance is gone, as do interfaces attached with DeleteOnTermination false.
- A terminated instance is ``shutting-down`` (code 32) for the pending time, then
  ``terminated`` (48); until then it still holds its subnet and security groups.
"""

import copy
import time
from collections.abc import Callable
from typing import Any

from moto.ec2.models import EC2Backend
from moto.ec2.models.instances import Instance, InstanceState
from moto.ec2.responses import EC2Response

from sandbox.wavelength.settings import BoundedSeconds

from .addresses import allocate_carrier_address
from .availability_zones import WavelengthZone, wavelength_zone
from .errors import invalid_parameter_combination, unsupported
from .patching import call_arguments, wrap
from .quotas import check_vcpus

DEFAULT_PENDING_SECONDS = 5.0
ROOT_VOLUME_GIB = 8
SHUTTING_DOWN = "shutting-down"
TERMINATED = "terminated"
MAX_PENDING_SECONDS = 30.0
WAVELENGTH_VOLUME_TYPE = "gp2"


pending_time = BoundedSeconds(DEFAULT_PENDING_SECONDS, maximum=MAX_PENDING_SECONDS, name="pending")


class LaunchingState(InstanceState):
    """``pending`` until the launch is due, then ``running``.

    Any transition moto makes afterwards (stop, terminate) assigns name and code, which then win.
    """

    def __init__(self, running_at: float):
        # No super().__init__(): the parent's name and code fields are properties here.
        self._running_at = running_at
        self._name: str | None = None
        self._code: int | None = None

    def _launched(self) -> bool:
        return time.monotonic() >= self._running_at

    @property
    def name(self) -> str:
        if self._name is not None:
            return self._name
        return "running" if self._launched() else "pending"

    @name.setter
    def name(self, value: str) -> None:
        self._name = value

    @property
    def code(self) -> int:
        if self._code is not None:
            return self._code
        return 16 if self._launched() else 0

    @code.setter
    def code(self, value: int) -> None:
        self._code = value


class ShuttingDownState(InstanceState):
    """``shutting-down`` until the termination is done, then ``terminated``."""

    def __init__(self, terminated_at: float):
        self._terminated_at = terminated_at

    def _done(self) -> bool:
        return time.monotonic() >= self._terminated_at

    @property
    def name(self) -> str:
        return TERMINATED if self._done() else SHUTTING_DOWN

    @name.setter
    def name(self, value: str) -> None:
        pass  # a terminating instance goes nowhere else

    @property
    def code(self) -> int:
        return 48 if self._done() else 32

    @code.setter
    def code(self, value: int) -> None:
        pass


def _launch_zone(backend: Any, arguments: dict[str, Any]) -> WavelengthZone | None:
    subnet_id = arguments.get("subnet_id") or next(
        (nic.get("SubnetId") for nic in arguments.get("nics") or [] if nic.get("SubnetId")), None
    )
    if subnet_id:
        return wavelength_zone(backend.get_subnet(subnet_id).availability_zone)
    return wavelength_zone(arguments.get("placement"))


def _primary_interface_spec(arguments: dict[str, Any]) -> dict[str, Any]:
    return next((nic for nic in arguments.get("nics") or [] if int(nic.get("DeviceIndex", 0)) == 0), {})


def _check_wavelength_launch(zone: WavelengthZone, arguments: dict[str, Any]) -> None:
    instance_type = arguments.get("instance_type")
    if instance_type not in zone.instance_types:
        raise unsupported(
            f"Your requested instance type ({instance_type}) is not supported in your requested "
            f"Availability Zone ({zone.name}). Please retry your request by choosing "
            f"{', '.join(zone.instance_types)}."
        )
    for mapping in arguments.get("block_device_mappings") or []:
        volume_type = (mapping.get("Ebs") or {}).get("VolumeType")
        if volume_type and volume_type != WAVELENGTH_VOLUME_TYPE:
            raise invalid_parameter_combination(
                f"The volume type {volume_type} is not supported in the Wavelength Zone {zone.name}; "
                f"use {WAVELENGTH_VOLUME_TYPE}."
            )
    if arguments.get("associate_public_ip") or _primary_interface_spec(arguments).get(
        "AssociatePublicIpAddress"
    ):
        raise invalid_parameter_combination(
            f"Public IP addresses are not supported in the Wavelength Zone {zone.name}; "
            "use AssociateCarrierIpAddress or a Carrier IP."
        )


def _run_instances(original: Callable) -> Callable:
    def run_instances(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = call_arguments(original, self, *args, **kwargs)
        zone = _launch_zone(self, arguments)
        wants_carrier_ip = bool(_primary_interface_spec(arguments).get("AssociateCarrierIpAddress"))
        if zone is not None:
            _check_wavelength_launch(zone, arguments)
        elif wants_carrier_ip:
            raise invalid_parameter_combination(
                "AssociateCarrierIpAddress needs a subnet in a Wavelength Zone."
            )
        check_vcpus(self, arguments.get("instance_type") or "m1.small", int(arguments.get("count") or 1))
        reservation = original(self, *args, **kwargs)
        running_at = time.monotonic() + pending_time.seconds
        for instance in reservation.instances:
            instance._state = LaunchingState(running_at)
            _root_volume_deleted_on_termination(self, instance, arguments)
            _delete_launched_interfaces_on_termination(instance, arguments)
            if zone is not None and wants_carrier_ip:
                _associate_new_carrier_ip(self, zone, instance)
        return reservation

    return run_instances


def _delete_launched_interfaces_on_termination(instance: Any, arguments: dict[str, Any]) -> None:
    """Interfaces created by the launch go with the instance, as on AWS (moto keeps them)."""
    specs = {int(nic.get("DeviceIndex", 0)): nic for nic in arguments.get("nics") or []}
    for device_index, interface in instance.nics.items():
        spec = specs.get(device_index, {})
        if not spec.get("NetworkInterfaceId") and spec.get("DeleteOnTermination") is not False:
            interface.delete_on_termination = True


def _root_volume_deleted_on_termination(backend: Any, instance: Any, arguments: dict[str, Any]) -> None:
    mappings = arguments.get("block_device_mappings")
    if not mappings:
        return  # moto's default root volume, already deleted on termination
    root_device = backend.describe_images(ami_ids=[instance.image_id])[0].root_device_name
    for device, attached in instance.block_device_mapping.items():
        if attached.delete_on_termination is None:  # not given in the request (see below)
            attached.delete_on_termination = device == root_device
    if root_device not in instance.block_device_mapping:
        volume = backend.create_volume(size=ROOT_VOLUME_GIB, zone_name=instance._placement.zone)
        backend.attach_volume(volume.id, instance.id, root_device, True)


def _unspecified_delete_on_termination(stock: Callable) -> Callable:
    """Keep "not given" apart from "false" in parsed mappings (moto turns a missing value into false)."""

    def parse_block_device_mapping(self: Any) -> list[dict[str, Any]]:
        parsed = stock(self)
        for raw, mapping in zip(self._get_param("BlockDeviceMappings", []), parsed, strict=False):
            if "DeleteOnTermination" not in (raw.get("Ebs") or {}):
                mapping["Ebs"]["DeleteOnTermination"] = None
        return parsed

    return parse_block_device_mapping


def _associate_new_carrier_ip(backend: Any, zone: WavelengthZone, instance: Any) -> None:
    address = allocate_carrier_address(backend, zone, tags={})
    backend.associate_address(eni=instance.nics[0], allocation_id=address.allocation_id)


def _terminate(original: Callable) -> Callable:
    def terminate(self: Instance) -> InstanceState:
        # TerminateInstances is idempotent on AWS; moto would delete the interfaces again and fail.
        if self._state.name in (SHUTTING_DOWN, TERMINATED):
            return copy.copy(self._state)
        previous = original(self)
        self._state = ShuttingDownState(time.monotonic() + pending_time.seconds)
        return previous

    return terminate


def install() -> None:
    wrap(EC2Backend, "run_instances", _run_instances)
    wrap(Instance, "terminate", _terminate)
    wrap(EC2Response, "_parse_block_device_mapping", _unspecified_delete_on_termination)
