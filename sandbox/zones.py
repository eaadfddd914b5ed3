"""The sandbox's zones: the panel's reference data (`netmodel.zones`), plus simulation data.

The zones themselves are the panel's knowledge of AWS, so they live with the panel; what only the
simulation needs (the placeholder Carrier IP pool) stays here.
"""

import functools
import json
from pathlib import Path

from netmodel.zones import load_zones, zone_groups, zones_by_name

__all__ = ["carrier_ip_pool", "load_zones", "zone_groups", "zones_by_name"]

POOL_FILE = Path(__file__).resolve().parent / "data" / "carrier_ip_pool.json"


@functools.cache
def carrier_ip_pool() -> str:
    """The CIDR Carrier IPs are drawn from (a placeholder, not a real carrier range)."""
    with POOL_FILE.open(encoding="utf-8") as handle:
        return json.load(handle)["carrier_ip_pool"]["cidr"]
