"""Wavelength Zone data of the sandbox, from one JSON file with its sources.

The panel's demo setup reads the same file for carrier and metro labels, so this module
does not import moto.
"""

import copy
import functools
import json
from pathlib import Path

ZONES_FILE = Path(__file__).resolve().parent / "data" / "zones.json"


@functools.cache
def _document() -> dict:
    with ZONES_FILE.open(encoding="utf-8") as handle:
        return json.load(handle)


def load_zones() -> list[dict]:
    """Every Wavelength Zone of the data file, as a fresh list of dicts.

    Keys: name, zone_id, region, group_name, parent_zone_name, parent_zone_id, carrier,
    metro, instance_types, sources, unconfirmed (the fields no AWS source confirmed).
    """
    return copy.deepcopy(_document()["zones"])


def carrier_ip_pool() -> str:
    """The CIDR Carrier IPs are drawn from (a placeholder, not a real carrier range)."""
    return _document()["carrier_ip_pool"]["cidr"]


def zones_by_name() -> dict[str, dict]:
    """The zones keyed by zone name."""
    return {zone["name"]: zone for zone in load_zones()}


def zone_groups() -> dict[str, str]:
    """Opt-in group name -> parent region."""
    return {zone["group_name"]: zone["region"] for zone in load_zones()}
