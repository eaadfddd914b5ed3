"""Carrier IPs (behaviour 5) and how a Wavelength instance shows one (behaviour 6)."""

import ipaddress

import pytest
from botocore.exceptions import ClientError
from sandbox_helpers import PARENT_ZONE, WL_REGION, WL_ZONE

CARRIER_POOL = ipaddress.ip_network("155.146.0.0/16")


def allocate_carrier_ip(ec2, **tags):
    return ec2.allocate_address(
        Domain="vpc",
        NetworkBorderGroup=WL_ZONE,
        TagSpecifications=[
            {
                "ResourceType": "elastic-ip",
                "Tags": [{"Key": key, "Value": value} for key, value in tags.items()],
            }
        ],
    )


def launch(ec2, image_id, subnet_id, instance_type="t3.medium"):
    return ec2.run_instances(
        ImageId=image_id, InstanceType=instance_type, MinCount=1, MaxCount=1, SubnetId=subnet_id
    )["Instances"][0]


def test_allocate_carrier_ip_in_a_wavelength_zone(opted_in):
    allocated = allocate_carrier_ip(opted_in, team="edge")

    assert ipaddress.ip_address(allocated["CarrierIp"]) in CARRIER_POOL
    assert "PublicIp" not in allocated
    assert allocated["NetworkBorderGroup"] == WL_ZONE
    assert allocated["Domain"] == "vpc"
    assert allocated["AllocationId"].startswith("eipalloc-")


def test_describe_addresses_shows_and_filters_carrier_ips(opted_in):
    ec2 = opted_in
    carrier = allocate_carrier_ip(ec2, team="edge")
    regional = ec2.allocate_address(Domain="vpc")

    def described(*filters):
        return {
            address["AllocationId"]: address
            for address in ec2.describe_addresses(Filters=list(filters))["Addresses"]
        }

    everything = described()
    assert everything[carrier["AllocationId"]]["CarrierIp"] == carrier["CarrierIp"]
    assert "PublicIp" not in everything[carrier["AllocationId"]]
    assert everything[carrier["AllocationId"]]["NetworkBorderGroup"] == WL_ZONE
    assert everything[regional["AllocationId"]]["NetworkBorderGroup"] == WL_REGION
    assert regional["NetworkBorderGroup"] == WL_REGION
    assert list(described({"Name": "network-border-group", "Values": [WL_ZONE]})) == [carrier["AllocationId"]]
    assert list(described({"Name": "network-border-group", "Values": [WL_REGION]})) == [
        regional["AllocationId"]
    ]
    assert list(described({"Name": "tag:team", "Values": ["edge"]})) == [carrier["AllocationId"]]


def test_carrier_ip_allocation_needs_opt_in(ec2):
    with pytest.raises(ClientError) as raised:
        allocate_carrier_ip(ec2, team="edge")

    assert raised.value.response["Error"]["Code"] == "OptInRequired"


def test_carrier_ip_only_associates_with_a_wavelength_interface(wavelength_vpc, image_id):
    ec2, vpc_id, wl_subnet_id = wavelength_vpc
    regional_subnet_id = ec2.create_subnet(
        VpcId=vpc_id, CidrBlock="10.0.1.0/24", AvailabilityZone=PARENT_ZONE
    )["Subnet"]["SubnetId"]
    wl_interface = launch(ec2, image_id, wl_subnet_id)["NetworkInterfaces"][0]["NetworkInterfaceId"]
    regional_interface = launch(ec2, image_id, regional_subnet_id, "t3.micro")["NetworkInterfaces"][0][
        "NetworkInterfaceId"
    ]
    carrier = allocate_carrier_ip(ec2)
    regional = ec2.allocate_address(Domain="vpc")

    with pytest.raises(ClientError) as carrier_on_regional:
        ec2.associate_address(AllocationId=carrier["AllocationId"], NetworkInterfaceId=regional_interface)
    with pytest.raises(ClientError) as regional_on_wavelength:
        ec2.associate_address(AllocationId=regional["AllocationId"], NetworkInterfaceId=wl_interface)

    assert carrier_on_regional.value.response["Error"]["Code"] == "InvalidParameterCombination"
    assert regional_on_wavelength.value.response["Error"]["Code"] == "InvalidParameterCombination"
    assert ec2.associate_address(AllocationId=carrier["AllocationId"], NetworkInterfaceId=wl_interface)[
        "AssociationId"
    ]


def test_release_of_a_carrier_ip_needs_its_network_border_group(opted_in):
    allocation_id = allocate_carrier_ip(opted_in)["AllocationId"]

    with pytest.raises(ClientError) as raised:
        opted_in.release_address(AllocationId=allocation_id)
    assert raised.value.response["Error"]["Code"] == "InvalidAddressID.NotFound"

    opted_in.release_address(AllocationId=allocation_id, NetworkBorderGroup=WL_ZONE)
    assert opted_in.describe_addresses()["Addresses"] == []


def test_release_with_an_incorrect_network_border_group_is_invalid_address_not_found(opted_in):
    # ReleaseAddress API reference: "If you provide an incorrect network border group, you
    # receive an InvalidAddress.NotFound error."
    carrier = allocate_carrier_ip(opted_in)["AllocationId"]
    regional = opted_in.allocate_address(Domain="vpc")["AllocationId"]

    with pytest.raises(ClientError) as carrier_in_region:
        opted_in.release_address(AllocationId=carrier, NetworkBorderGroup=WL_REGION)
    with pytest.raises(ClientError) as regional_in_zone:
        opted_in.release_address(AllocationId=regional, NetworkBorderGroup=WL_ZONE)

    assert carrier_in_region.value.response["Error"]["Code"] == "InvalidAddress.NotFound"
    assert regional_in_zone.value.response["Error"]["Code"] == "InvalidAddress.NotFound"
    assert len(opted_in.describe_addresses()["Addresses"]) == 2
    opted_in.release_address(AllocationId=regional, NetworkBorderGroup=WL_REGION)
    opted_in.release_address(AllocationId=carrier, NetworkBorderGroup=WL_ZONE)
    assert opted_in.describe_addresses()["Addresses"] == []


def test_wavelength_instance_shows_its_carrier_ip_and_no_public_ip(wavelength_vpc, image_id):
    ec2, _, subnet_id = wavelength_vpc
    instance = launch(ec2, image_id, subnet_id)
    interface_id = instance["NetworkInterfaces"][0]["NetworkInterfaceId"]
    carrier = allocate_carrier_ip(ec2)

    ec2.associate_address(AllocationId=carrier["AllocationId"], NetworkInterfaceId=interface_id)

    described = ec2.describe_instances(InstanceIds=[instance["InstanceId"]])["Reservations"][0]["Instances"][
        0
    ]
    assert "PublicIpAddress" not in described
    assert not described.get("PublicDnsName")
    association = described["NetworkInterfaces"][0]["Association"]
    assert association["CarrierIp"] == carrier["CarrierIp"]
    assert "PublicIp" not in association
    interface = ec2.describe_network_interfaces(NetworkInterfaceIds=[interface_id])["NetworkInterfaces"][0]
    assert interface["Association"]["CarrierIp"] == carrier["CarrierIp"]
    assert "PublicIp" not in interface["Association"]
    address = ec2.describe_addresses(AllocationIds=[carrier["AllocationId"]])["Addresses"][0]
    assert address["InstanceId"] == instance["InstanceId"]
    assert address["NetworkInterfaceId"] == interface_id


def test_wavelength_instance_without_carrier_ip_has_no_public_ip(wavelength_vpc, image_id):
    ec2, _, subnet_id = wavelength_vpc

    instance = launch(ec2, image_id, subnet_id)

    described = ec2.describe_instances(InstanceIds=[instance["InstanceId"]])["Reservations"][0]["Instances"][
        0
    ]
    assert "PublicIpAddress" not in described
    assert "Association" not in described["NetworkInterfaces"][0]


def test_associate_carrier_ip_address_at_launch(wavelength_vpc, image_id):
    ec2, _, subnet_id = wavelength_vpc

    instance = ec2.run_instances(
        ImageId=image_id,
        InstanceType="t3.medium",
        MinCount=1,
        MaxCount=1,
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet_id, "AssociateCarrierIpAddress": True}],
    )["Instances"][0]

    described = ec2.describe_instances(InstanceIds=[instance["InstanceId"]])["Reservations"][0]["Instances"][
        0
    ]
    carrier_ip = described["NetworkInterfaces"][0]["Association"]["CarrierIp"]
    assert ipaddress.ip_address(carrier_ip) in CARRIER_POOL
