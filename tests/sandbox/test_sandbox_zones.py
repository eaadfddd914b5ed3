"""Wavelength Zones: discovery (behaviour 1) and opt-in (behaviour 2)."""

import time

import pytest
from botocore.exceptions import ClientError
from sandbox_helpers import PARENT_ZONE, WL_GROUP, WL_REGION, WL_ZONE

from sandbox.zones import load_zones

PARENT_REGIONS = {"us-west-2", "us-east-1", "ap-northeast-1", "ca-central-1", "eu-west-2", "eu-west-3"}


def zone_names(response):
    return [zone["ZoneName"] for zone in response["AvailabilityZones"]]


def test_all_availability_zones_lists_wavelength_zones_with_their_attributes(ec2):
    zones = {
        zone["ZoneName"]: zone
        for zone in ec2.describe_availability_zones(AllAvailabilityZones=True)["AvailabilityZones"]
    }

    sfo = zones[WL_ZONE]
    assert sfo["ZoneType"] == "wavelength-zone"
    assert sfo["GroupName"] == WL_GROUP
    assert sfo["NetworkBorderGroup"] == WL_ZONE
    assert sfo["ParentZoneName"] == PARENT_ZONE
    assert sfo["ParentZoneId"] == zones[PARENT_ZONE]["ZoneId"]
    assert sfo["OptInStatus"] == "not-opted-in"
    assert sfo["RegionName"] == WL_REGION
    assert {f"us-west-2-wl1-{metro}-wlz-1" for metro in ("sfo", "lax", "las", "den", "phx", "sea")} <= set(
        zones
    )
    regional = zones[PARENT_ZONE]
    assert regional["ZoneType"] == "availability-zone"
    assert regional["OptInStatus"] == "opt-in-not-required"
    assert regional["NetworkBorderGroup"] == WL_REGION


def test_zones_not_opted_in_are_hidden_without_all_availability_zones(ec2):
    assert zone_names(ec2.describe_availability_zones()) == [
        "us-west-2a",
        "us-west-2b",
        "us-west-2c",
        "us-west-2d",
    ]


@pytest.mark.parametrize(
    ("region", "zone", "carrier_group"),
    [
        ("us-east-1", "us-east-1-wl1-bos-wlz-1", "us-east-1-wl1"),
        ("ap-northeast-1", "ap-northeast-1-wl1-nrt-wlz-1", "ap-northeast-1-wl1"),
        ("ca-central-1", "ca-central-1-wl1-yto-wlz-1", "ca-central-1-wl1"),
        ("eu-west-2", "eu-west-2-wl1-lon-wlz-1", "eu-west-2-wl1"),
        ("eu-west-3", "eu-west-3-wl1-cmn-wlz-1", "eu-west-3-wl1"),
    ],
)
def test_other_parent_regions_list_their_own_zones(make_client, region, zone, carrier_group):
    response = make_client(region=region).describe_availability_zones(
        AllAvailabilityZones=True, Filters=[{"Name": "zone-type", "Values": ["wavelength-zone"]}]
    )

    zones = {found["ZoneName"]: found for found in response["AvailabilityZones"]}
    assert zone in zones
    assert zones[zone]["GroupName"] == carrier_group
    assert all(found["RegionName"] == region for found in zones.values())


def test_filters_zone_type_opt_in_status_group_name_and_network_border_group(opted_in, make_client):
    ec2 = opted_in

    def names(*filters):
        return zone_names(ec2.describe_availability_zones(AllAvailabilityZones=True, Filters=list(filters)))

    assert len(names({"Name": "zone-type", "Values": ["wavelength-zone"]})) == 6
    assert names({"Name": "opt-in-status", "Values": ["opt-in-not-required"]}) == [
        "us-west-2a",
        "us-west-2b",
        "us-west-2c",
        "us-west-2d",
    ]
    assert len(names({"Name": "opt-in-status", "Values": ["opted-in"]})) == 6
    assert len(names({"Name": "group-name", "Values": [WL_GROUP]})) == 6
    assert names({"Name": "network-border-group", "Values": [WL_ZONE]}) == [WL_ZONE]
    not_opted = make_client(region="us-east-1").describe_availability_zones(
        AllAvailabilityZones=True, Filters=[{"Name": "opt-in-status", "Values": ["not-opted-in"]}]
    )
    assert "us-east-1-wl1-bos-wlz-1" in zone_names(not_opted)


def test_unknown_filter_is_refused(ec2):
    with pytest.raises(ClientError) as raised:
        ec2.describe_availability_zones(Filters=[{"Name": "opt-in-flavour", "Values": ["x"]}])

    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_opt_in_lists_the_group_zones_without_all_availability_zones(ec2):
    assert ec2.modify_availability_zone_group(GroupName=WL_GROUP, OptInStatus="opted-in")["Return"] is True

    zones = ec2.describe_availability_zones(Filters=[{"Name": "zone-type", "Values": ["wavelength-zone"]}])
    assert {zone["OptInStatus"] for zone in zones["AvailabilityZones"]} == {"opted-in"}
    assert WL_ZONE in zone_names(zones)


def test_opting_out_is_refused_as_aws_does(opted_in):
    with pytest.raises(ClientError) as raised:
        opted_in.modify_availability_zone_group(GroupName=WL_GROUP, OptInStatus="not-opted-in")

    error = raised.value.response["Error"]
    assert error["Code"] == "InvalidParameterValue"
    assert "AWS Support" in error["Message"]


def test_unknown_group_is_refused(ec2):
    with pytest.raises(ClientError) as raised:
        ec2.modify_availability_zone_group(GroupName="us-west-2-wl9", OptInStatus="opted-in")

    assert raised.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_opt_in_is_per_region(opted_in, make_client):
    east = make_client(region="us-east-1").describe_availability_zones(
        AllAvailabilityZones=True, Filters=[{"Name": "zone-name", "Values": ["us-east-1-wl1-bos-wlz-1"]}]
    )
    assert east["AvailabilityZones"][0]["OptInStatus"] == "not-opted-in"


def test_zone_data_file_has_sources_and_marks_unconfirmed_facts():
    zones = load_zones()

    assert {zone["region"] for zone in zones} == PARENT_REGIONS
    for zone in zones:
        assert zone["sources"], zone["name"]
        assert isinstance(zone["unconfirmed"], list)
        assert zone["name"].startswith(zone["region"] + "-wl1-")
        assert zone["carrier"] and zone["metro"]
    carriers = {zone["name"]: zone["carrier"] for zone in zones}
    assert carriers[WL_ZONE] == "Verizon"
    assert carriers["ap-northeast-1-wl1-kix-wlz-1"] == "KDDI"
    assert carriers["ca-central-1-wl1-yto-wlz-1"] == "Bell"
    assert carriers["eu-west-2-wl1-man-wlz-1"] == "Vodafone"


def test_until_the_opt_in_takes_effect_the_zone_is_not_opted_in(control, ec2):
    control.post("opt-in", {"seconds": 60})
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    assert ec2.modify_availability_zone_group(GroupName=WL_GROUP, OptInStatus="opted-in")["Return"] is True

    zone = ec2.describe_availability_zones(AllAvailabilityZones=True, ZoneNames=[WL_ZONE])["AvailabilityZones"][0]
    assert zone["OptInStatus"] == "not-opted-in"
    with pytest.raises(ClientError) as early:
        ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24", AvailabilityZone=WL_ZONE)
    assert early.value.response["Error"]["Code"] == "OptInRequired"
    state = control.get("state")
    assert state["opt_in_requested_groups"] == [{"account": "123456789012", "region": WL_REGION, "group": WL_GROUP}]
    assert state["opted_in_groups"] == []


def test_an_opt_in_takes_effect_after_the_configured_time(control, ec2):
    control.post("opt-in", {"seconds": 0.5})
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    started = time.monotonic()
    ec2.modify_availability_zone_group(GroupName=WL_GROUP, OptInStatus="opted-in")

    while True:
        zone = ec2.describe_availability_zones(ZoneNames=[WL_ZONE])["AvailabilityZones"]
        if zone and zone[0]["OptInStatus"] == "opted-in":
            break
        assert time.monotonic() - started < 10
        time.sleep(0.1)

    assert time.monotonic() - started >= 0.5
    assert ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24", AvailabilityZone=WL_ZONE)["Subnet"]["SubnetId"]
    assert control.get("state")["opt_in_requested_groups"] == []


def test_opt_in_time_is_a_control_setting_restored_by_reset(control):
    assert control.post("opt-in", {"seconds": 7})["opt_in_seconds"] == 7
    control.post("reset")
    assert control.get("state")["opt_in_seconds"] == 0


@pytest.mark.parametrize(
    ("region", "zone_name", "metro"),
    [("eu-west-3", "eu-west-3-wl1-dkr-wlz-1", "Dakar"), ("us-east-1", "us-east-1-wl1-mci-wlz-1", "Kansas")],
)
def test_the_2025_zones_are_listed_and_marked_unconfirmed(make_client, region, zone_name, metro):
    ec2 = make_client(region=region)

    zones = zone_names(ec2.describe_availability_zones(AllAvailabilityZones=True))
    data = {zone["name"]: zone for zone in load_zones()}[zone_name]

    assert zone_name in zones
    assert data["metro"] == metro
    assert {"name", "region", "carrier"} <= set(data["unconfirmed"])
    assert any("doc-history" in source for source in data["sources"])
