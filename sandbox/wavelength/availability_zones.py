"""Wavelength Zones in moto: the zones themselves, their opt-in groups and their offerings.

DescribeAvailabilityZones and ModifyAvailabilityZoneGroup are answered here; the rest of the
extension asks ``wavelength_zone()`` whether a zone name or id is a Wavelength Zone.

An opt-in takes effect after ``opt_in_delay`` seconds (default 5): until then the group's zones
still report ``not-opted-in`` and refuse subnets, carrier gateways and Carrier IPs, as on AWS,
where ModifyAvailabilityZoneGroup answers at once and the zones follow later.
"""

import fnmatch
import time
from dataclasses import dataclass, field
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend, Zone
from moto.ec2.models.instance_types import INSTANCE_TYPE_OFFERINGS
from moto.ec2.responses import EC2Response

from sandbox.wavelength.settings import BoundedSeconds
from sandbox.zones import load_zones

from .errors import invalid_parameter_value, opt_in_required
from .state import extras

ZONE_TYPE = "wavelength-zone"
OPTED_IN = "opted-in"
NOT_OPTED_IN = "not-opted-in"
OPT_IN_NOT_REQUIRED = "opt-in-not-required"
DEFAULT_OPT_IN_SECONDS = 5.0
MAX_OPT_IN_SECONDS = 600.0


opt_in_delay = BoundedSeconds(DEFAULT_OPT_IN_SECONDS, maximum=MAX_OPT_IN_SECONDS, name="opt-in")


class WavelengthZone(Zone):
    """A moto ``Zone`` with the Wavelength attributes of the AWS AvailabilityZone shape."""

    def __init__(self, data: dict):
        super().__init__(
            name=data["name"], region_name=data["region"], zone_id=data["zone_id"], zone_type=ZONE_TYPE
        )
        # moto's serializer maps ZoneName to `name` only for a class named exactly "Zone".
        self.zone_name = self.name
        self.group_name = data["group_name"]
        self.network_border_group = self.name
        self.parent_zone_name = data["parent_zone_name"]
        self.parent_zone_id = data["parent_zone_id"]
        self.carrier = data["carrier"]
        self.metro = data["metro"]
        self.instance_types = tuple(data["instance_types"])


_zones_by_name: dict[str, WavelengthZone] = {}
_zones_by_id: dict[str, WavelengthZone] = {}


def register_zones() -> None:
    """Add the data file's zones to moto's zone table and their instance types to its offerings."""
    for data in load_zones():
        zone = WavelengthZone(data)
        # Keyed by group, not region: create_subnet scans every key and so finds the zone, but
        # backend start-up (default subnets per zone of the region) does not see it.
        RegionsAndZonesBackend.zones.setdefault(zone.group_name, []).append(zone)
        _zones_by_name[zone.name] = zone
        _zones_by_id[zone.zone_id] = zone
        _register_offerings(zone)


def _register_offerings(zone: WavelengthZone) -> None:
    for location_type, location in (("availability-zone", zone.name), ("availability-zone-id", zone.zone_id)):
        offerings = INSTANCE_TYPE_OFFERINGS[location_type].setdefault(zone.region_name, [])
        offerings.extend(
            {"InstanceType": instance_type, "Location": location, "LocationType": location_type}
            for instance_type in zone.instance_types
        )


def wavelength_zone(name_or_id: str | None) -> WavelengthZone | None:
    """The Wavelength Zone with this name or zone id, or None for any other zone."""
    if not name_or_id:
        return None
    return _zones_by_name.get(name_or_id) or _zones_by_id.get(name_or_id)


def zones_of_region(region: str) -> list[WavelengthZone]:
    return [zone for zone in _zones_by_name.values() if zone.region_name == region]


def is_opted_in(backend: Any, group_name: str) -> bool:
    effective_at = extras(backend).opted_in_groups.get(group_name)
    return effective_at is not None and effective_at <= time.monotonic()


def any_group_opted_in(backend: Any) -> bool:
    return any(is_opted_in(backend, group) for group in extras(backend).opted_in_groups)


def opted_in_groups(backend: Any) -> list[str]:
    """Groups whose opt-in has taken effect."""
    return sorted(group for group in extras(backend).opted_in_groups if is_opted_in(backend, group))


def requested_groups(backend: Any) -> list[str]:
    """Groups opted in whose opt-in has not taken effect yet."""
    return sorted(group for group in extras(backend).opted_in_groups if not is_opted_in(backend, group))


def opt_in_check(backend: Any, zone: "WavelengthZone", what: str | None = None) -> None:
    """OptInRequired unless the zone's group is opted in (and the opt-in has taken effect)."""
    if not is_opted_in(backend, zone.group_name):
        action = what or f"create a subnet in {zone.name}"
        raise opt_in_required(f"You must opt in to the zone group {zone.group_name} before you can {action}.")


@dataclass
class DescribedZone:
    """One zone as DescribeAvailabilityZones shows it to one account."""

    zone_name: str
    zone_id: str
    zone_type: str
    region_name: str
    opt_in_status: str
    group_name: str
    network_border_group: str
    parent_zone_name: str | None = None
    parent_zone_id: str | None = None
    state: str = "available"
    messages: list = field(default_factory=list)


FILTER_ATTRIBUTES = {
    "zone-name": "zone_name",
    "zone-id": "zone_id",
    "zone-type": "zone_type",
    "region-name": "region_name",
    "state": "state",
    "opt-in-status": "opt_in_status",
    "group-name": "group_name",
    "network-border-group": "network_border_group",
    "parent-zone-name": "parent_zone_name",
    "parent-zone-id": "parent_zone_id",
}


def describe_zones(
    backend: Any,
    filters: dict[str, list[str]],
    zone_names: list[str],
    zone_ids: list[str],
    include_all: bool,
) -> list[DescribedZone]:
    """The zones of the backend's region as AWS lists them: Wavelength Zones that are not
    opted in only with ``AllAvailabilityZones``."""
    unknown = sorted(set(filters) - set(FILTER_ATTRIBUTES))
    if unknown:
        raise invalid_parameter_value(f"The filter '{unknown[0]}' is invalid")
    region = backend.region_name
    zones = [_regional(zone, region) for zone in RegionsAndZonesBackend.zones.get(region, [])]
    zones += [_wavelength(zone, backend) for zone in zones_of_region(region)]
    if not include_all:
        zones = [zone for zone in zones if zone.opt_in_status != NOT_OPTED_IN]
    if zone_names:
        zones = [zone for zone in zones if zone.zone_name in zone_names]
    if zone_ids:
        zones = [zone for zone in zones if zone.zone_id in zone_ids]
    return [zone for zone in zones if _matches(zone, filters)]


def _regional(zone: Zone, region: str) -> DescribedZone:
    return DescribedZone(
        zone_name=zone.name,
        zone_id=zone.zone_id,
        zone_type=zone.zone_type,
        region_name=region,
        opt_in_status=OPT_IN_NOT_REQUIRED,
        group_name=region,
        network_border_group=region,
    )


def _wavelength(zone: WavelengthZone, backend: Any) -> DescribedZone:
    return DescribedZone(
        zone_name=zone.name,
        zone_id=zone.zone_id,
        zone_type=zone.zone_type,
        region_name=zone.region_name,
        opt_in_status=OPTED_IN if is_opted_in(backend, zone.group_name) else NOT_OPTED_IN,
        group_name=zone.group_name,
        network_border_group=zone.network_border_group,
        parent_zone_name=zone.parent_zone_name,
        parent_zone_id=zone.parent_zone_id,
    )


def _matches(zone: DescribedZone, filters: dict[str, list[str]]) -> bool:
    for name, patterns in filters.items():
        value = getattr(zone, FILTER_ATTRIBUTES[name])
        if value is None or not any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns):
            return False
    return True


def check_opt_in_request(backend: Any, group_name: str, status: str) -> None:
    """Refuse an unknown zone group of the backend's region, and any status but opted-in."""
    groups = {zone.group_name for zone in zones_of_region(backend.region_name)}
    if group_name not in groups:
        raise invalid_parameter_value(f"The zone group '{group_name}' is not valid in this region.")
    if status != OPTED_IN:
        raise invalid_parameter_value(
            f"Invalid value '{status}' for OptInStatus. The only valid value is opted-in. "
            "You must contact AWS Support to opt out of a Local Zone or Wavelength Zone group."
        )


def opt_in(backend: Any, group_name: str, status: str) -> None:
    """Opt the account into a zone group of the backend's region, effective after the delay."""
    check_opt_in_request(backend, group_name, status)
    groups = extras(backend).opted_in_groups
    # Asking again does not restart the clock.
    groups.setdefault(group_name, time.monotonic() + opt_in_delay.seconds)


def describe_availability_zones(self: EC2Response) -> ActionResult:
    self.error_on_dryrun()
    zones = describe_zones(
        self.ec2_backend,
        filters=self._filters_from_querystring(),
        zone_names=self._get_param("ZoneNames", []),
        zone_ids=self._get_param("ZoneIds", []),
        include_all=bool(self._get_param("AllAvailabilityZones", False)),
    )
    return ActionResult({"AvailabilityZones": zones})


def modify_availability_zone_group(self: EC2Response) -> ActionResult:
    group_name = self._get_param("GroupName")
    status = self._get_param("OptInStatus")
    self.error_on_dryrun()
    opt_in(self.ec2_backend, group_name, status)
    return ActionResult({"Return": True})


def install() -> None:
    register_zones()
    EC2Response.describe_availability_zones = describe_availability_zones
    EC2Response.modify_availability_zone_group = modify_availability_zone_group
