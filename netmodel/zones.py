"""Reference data about Wavelength Zones, from one JSON file with its sources.

The panel owns this knowledge of AWS (carrier, metro, opt-in group, parent zone): its zone cache
labels what `DescribeAvailabilityZones` returns with it, and the sandbox serves its zones from it.
"""

import copy
import functools
import json
from pathlib import Path

ZONES_FILE = Path(__file__).resolve().parent / "data" / "wavelength_zones.json"


@functools.cache
def _document() -> dict:
    with ZONES_FILE.open(encoding="utf-8") as handle:
        return json.load(handle)


def load_zones() -> list[dict]:
    """Every Wavelength Zone of the data file, as a fresh list of dicts.

    Keys: name, zone_id, region, group_name, parent_zone_name, parent_zone_id, carrier,
    metro, price_location, instance_types, sources, unconfirmed (the fields no AWS source confirmed).
    """
    return copy.deepcopy(_document()["zones"])


def zones_by_name() -> dict[str, dict]:
    """The zones keyed by zone name."""
    return {zone["name"]: zone for zone in load_zones()}


def zone_groups() -> dict[str, str]:
    """Opt-in group name -> parent region."""
    return {zone["group_name"]: zone["region"] for zone in load_zones()}


def price_locations() -> dict[str, str]:
    """Zone name -> its `location` in the AWS Price List (e.g. "US West (Verizon) - San Francisco Bay Area")."""
    return {zone["name"]: zone["price_location"] for zone in _document()["zones"] if zone.get("price_location")}


def region_price_locations() -> dict[str, str]:
    """Parent region -> its Price List `location` (e.g. "US West (Oregon)"), where the bastion runs."""
    return dict(_document()["region_price_locations"])


def parent_regions() -> list[str]:
    """Every parent Region of a Wavelength Zone in the data file (AWS's current list), sorted."""
    return sorted({zone["region"] for zone in load_zones()})
