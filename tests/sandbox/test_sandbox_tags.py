"""Every taggable resource the engine creates can be found by tag, with Describe* and DescribeTags."""

import pytest
from sandbox_helpers import PARENT_ZONE, WL_ZONE

ENVIRONMENT_TAG = "wlpanel:environment"


def tag_spec(resource_type: str, key: str):
    return [
        {
            "ResourceType": resource_type,
            "Tags": [{"Key": ENVIRONMENT_TAG, "Value": "42"}, {"Key": "wlpanel:resource", "Value": key}],
        }
    ]


@pytest.fixture
def tagged(opted_in, image_id):
    """One resource of each type the engine creates, tagged wlpanel:environment=42: {type: id}."""
    ec2 = opted_in
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=tag_spec("vpc", "vpc"))["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(
        VpcId=vpc_id,
        CidrBlock="10.0.0.0/24",
        AvailabilityZone=WL_ZONE,
        TagSpecifications=tag_spec("subnet", "wl"),
    )["Subnet"]["SubnetId"]
    # An untagged twin of each kind must not match the filters.
    ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24", AvailabilityZone=PARENT_ZONE)
    return {
        "vpc": vpc_id,
        "subnet": subnet_id,
        "internet-gateway": ec2.create_internet_gateway(
            TagSpecifications=tag_spec("internet-gateway", "igw")
        )["InternetGateway"]["InternetGatewayId"],
        "carrier-gateway": ec2.create_carrier_gateway(
            VpcId=vpc_id, TagSpecifications=tag_spec("carrier-gateway", "cagw")
        )["CarrierGateway"]["CarrierGatewayId"],
        "route-table": ec2.create_route_table(VpcId=vpc_id, TagSpecifications=tag_spec("route-table", "rtb"))[
            "RouteTable"
        ]["RouteTableId"],
        "security-group": ec2.create_security_group(
            GroupName="wl", Description="wl", VpcId=vpc_id, TagSpecifications=tag_spec("security-group", "sg")
        )["GroupId"],
        "instance": ec2.run_instances(
            ImageId=image_id,
            InstanceType="t3.medium",
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet_id,
            TagSpecifications=tag_spec("instance", "wl-instance"),
        )["Instances"][0]["InstanceId"],
        "elastic-ip": ec2.allocate_address(
            Domain="vpc", NetworkBorderGroup=WL_ZONE, TagSpecifications=tag_spec("elastic-ip", "cip")
        )["AllocationId"],
    }


def found_ids(ec2, resource_type: str, filters) -> list[str]:
    if resource_type == "vpc":
        return [vpc["VpcId"] for vpc in ec2.describe_vpcs(Filters=filters)["Vpcs"]]
    if resource_type == "subnet":
        return [subnet["SubnetId"] for subnet in ec2.describe_subnets(Filters=filters)["Subnets"]]
    if resource_type == "internet-gateway":
        return [
            igw["InternetGatewayId"]
            for igw in ec2.describe_internet_gateways(Filters=filters)["InternetGateways"]
        ]
    if resource_type == "carrier-gateway":
        return [
            gw["CarrierGatewayId"] for gw in ec2.describe_carrier_gateways(Filters=filters)["CarrierGateways"]
        ]
    if resource_type == "route-table":
        return [rtb["RouteTableId"] for rtb in ec2.describe_route_tables(Filters=filters)["RouteTables"]]
    if resource_type == "security-group":
        return [group["GroupId"] for group in ec2.describe_security_groups(Filters=filters)["SecurityGroups"]]
    if resource_type == "instance":
        reservations = ec2.describe_instances(Filters=filters)["Reservations"]
        return [
            instance["InstanceId"] for reservation in reservations for instance in reservation["Instances"]
        ]
    return [address["AllocationId"] for address in ec2.describe_addresses(Filters=filters)["Addresses"]]


def test_describe_by_tag_finds_each_resource(opted_in, tagged):
    for resource_type, resource_id in tagged.items():
        by_value = found_ids(opted_in, resource_type, [{"Name": f"tag:{ENVIRONMENT_TAG}", "Values": ["42"]}])
        by_key = found_ids(opted_in, resource_type, [{"Name": "tag-key", "Values": [ENVIRONMENT_TAG]}])
        other_value = found_ids(
            opted_in, resource_type, [{"Name": f"tag:{ENVIRONMENT_TAG}", "Values": ["43"]}]
        )
        assert by_value == [resource_id], resource_type
        assert by_key == [resource_id], resource_type
        assert other_value == [], resource_type


def test_describe_tags_lists_each_resource_with_its_aws_type(opted_in, tagged):
    tags = opted_in.describe_tags(Filters=[{"Name": "key", "Values": [ENVIRONMENT_TAG]}])["Tags"]

    assert {tag["ResourceId"]: tag["ResourceType"] for tag in tags} == {
        resource_id: resource_type for resource_type, resource_id in tagged.items()
    }


def test_create_security_group_answers_its_tags(opted_in):
    vpc_id = opted_in.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    created = opted_in.create_security_group(
        GroupName="bastion",
        Description="bastion",
        VpcId=vpc_id,
        TagSpecifications=tag_spec("security-group", "sg"),
    )

    assert {"Key": ENVIRONMENT_TAG, "Value": "42"} in created["Tags"]


def test_inventory_lists_everything_tagged(control, tagged):
    by_value = control.get(f"inventory?tag={ENVIRONMENT_TAG}=42")["items"]
    by_key = control.get(f"inventory?tag={ENVIRONMENT_TAG}")["items"]

    assert {(item["type"], item["id"]) for item in by_value} == set(tagged.items())
    assert len(by_key) == len(by_value)
    assert control.get(f"inventory?tag={ENVIRONMENT_TAG}=43")["items"] == []
