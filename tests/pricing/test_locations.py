"""Every zone of the reference data has a Price List location, and every parent region one too."""

from netmodel.zones import load_zones, price_locations, region_price_locations


def test_every_zone_and_parent_region_has_a_price_list_location():
    zones = load_zones()
    locations = price_locations()
    assert set(locations) == {zone["name"] for zone in zones}
    assert locations["us-west-2-wl1-sfo-wlz-1"] == "US West (Verizon) - San Francisco Bay Area"
    regions = region_price_locations()
    assert {zone["region"] for zone in zones} <= set(regions)
    unconfirmed = {zone["name"] for zone in zones if "price_location" in zone["unconfirmed"]}
    assert {"eu-west-2-wl1-lon-wlz-1", "eu-west-3-wl1-cmn-wlz-1"} <= unconfirmed
