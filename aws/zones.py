"""Wavelength Zones, their instance-type offerings and zone-group opt-in."""

WAVELENGTH_ZONE_FILTER = [{"Name": "zone-type", "Values": ["wavelength-zone"]}]


def wavelength_zones_describe(ec2) -> list[dict]:
    """Every Wavelength Zone of the client's region, opted in or not."""
    answer = ec2.describe_availability_zones(AllAvailabilityZones=True, Filters=WAVELENGTH_ZONE_FILTER)
    return [
        zone
        for zone in answer["AvailabilityZones"]
        if zone.get("ZoneType", "wavelength-zone") == "wavelength-zone"
    ]


def instance_type_offerings(ec2, zone_names: list[str]) -> dict[str, list[str]]:
    """{zone name: sorted instance types offered there}."""
    offered: dict[str, set[str]] = {name: set() for name in zone_names}
    if not zone_names:
        return {}
    arguments = {"LocationType": "availability-zone", "Filters": [{"Name": "location", "Values": zone_names}]}
    while True:
        answer = ec2.describe_instance_type_offerings(**arguments)
        for offering in answer["InstanceTypeOfferings"]:
            offered.setdefault(offering["Location"], set()).add(offering["InstanceType"])
        if not answer.get("NextToken"):
            break
        arguments["NextToken"] = answer["NextToken"]
    return {name: sorted(types) for name, types in offered.items()}


def zone_group_opt_in(ec2, group: str) -> None:
    """One-way: opting a group out again needs AWS Support."""
    ec2.modify_availability_zone_group(GroupName=group, OptInStatus="opted-in")
