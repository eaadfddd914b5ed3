"""The seed's whole build and teardown (the seed's steps 0-9) with plain boto3."""

from sandbox_helpers import WL_GROUP, WL_ZONE

ENVIRONMENT = "42"
NAME = "seed"
VPC_CIDR = "10.0.0.0/16"


def tags(resource_type: str, key: str) -> list[dict]:
    """The tags every wlpanel resource carries from creation."""
    return [
        {
            "ResourceType": resource_type,
            "Tags": [
                {"Key": "wlpanel:environment", "Value": ENVIRONMENT},
                {"Key": "wlpanel:resource", "Value": key},
                {"Key": "Name", "Value": f"{NAME}-{key}"},
            ],
        }
    ]


def build(ec2, image_id: str) -> dict:
    """Steps 0-9; returns the ids of what was built."""
    # 0. zone opted in; the parent zone comes from DescribeAvailabilityZones.
    zone = ec2.describe_availability_zones(
        AllAvailabilityZones=True, Filters=[{"Name": "zone-name", "Values": [WL_ZONE]}]
    )["AvailabilityZones"][0]
    assert zone["OptInStatus"] == "not-opted-in"
    ec2.modify_availability_zone_group(GroupName=zone["GroupName"], OptInStatus="opted-in")
    built = {}
    # 1. VPC
    built["vpc"] = vpc_id = ec2.create_vpc(CidrBlock=VPC_CIDR, TagSpecifications=tags("vpc", "vpc"))["Vpc"][
        "VpcId"
    ]
    # 2. public subnet in the parent zone, Internet Gateway, default route
    built["public_subnet"] = ec2.create_subnet(
        VpcId=vpc_id,
        CidrBlock="10.0.1.0/24",
        AvailabilityZone=zone["ParentZoneName"],
        TagSpecifications=tags("subnet", "public-subnet"),
    )["Subnet"]["SubnetId"]
    built["igw"] = ec2.create_internet_gateway(TagSpecifications=tags("internet-gateway", "igw"))[
        "InternetGateway"
    ]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=built["igw"], VpcId=vpc_id)
    built["public_rtb"] = ec2.create_route_table(
        VpcId=vpc_id,
        ClientToken=f"{ENVIRONMENT}-public-rtb",
        TagSpecifications=tags("route-table", "public-rtb"),
    )["RouteTable"]["RouteTableId"]
    ec2.create_route(
        RouteTableId=built["public_rtb"], DestinationCidrBlock="0.0.0.0/0", GatewayId=built["igw"]
    )
    built["public_assoc"] = ec2.associate_route_table(
        RouteTableId=built["public_rtb"], SubnetId=built["public_subnet"]
    )["AssociationId"]
    # 3. security groups
    for key in ("bastion-sg", "wl-sg"):
        built[key] = ec2.create_security_group(
            GroupName=f"{NAME}-{key}",
            Description=key,
            VpcId=vpc_id,
            TagSpecifications=tags("security-group", key),
        )["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=built[key], IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": VPC_CIDR}]}]
        )
    # 4. bastion in the public subnet
    built["bastion"] = ec2.run_instances(
        ImageId=image_id,
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        SubnetId=built["public_subnet"],
        SecurityGroupIds=[built["bastion-sg"]],
        ClientToken=f"{ENVIRONMENT}-bastion",
        TagSpecifications=tags("instance", "bastion"),
    )["Instances"][0]["InstanceId"]
    # 5. Wavelength subnet
    built["wl_subnet"] = ec2.create_subnet(
        VpcId=vpc_id,
        CidrBlock="10.0.0.0/24",
        AvailabilityZone=WL_ZONE,
        TagSpecifications=tags("subnet", "wl-subnet"),
    )["Subnet"]["SubnetId"]
    # 6. carrier gateway
    built["cagw"] = ec2.create_carrier_gateway(
        VpcId=vpc_id, ClientToken=f"{ENVIRONMENT}-cagw", TagSpecifications=tags("carrier-gateway", "cagw")
    )["CarrierGateway"]["CarrierGatewayId"]
    # 7. carrier route table
    built["wl_rtb"] = ec2.create_route_table(
        VpcId=vpc_id, ClientToken=f"{ENVIRONMENT}-wl-rtb", TagSpecifications=tags("route-table", "wl-rtb")
    )["RouteTable"]["RouteTableId"]
    ec2.create_route(
        RouteTableId=built["wl_rtb"], DestinationCidrBlock="0.0.0.0/0", CarrierGatewayId=built["cagw"]
    )
    built["wl_assoc"] = ec2.associate_route_table(RouteTableId=built["wl_rtb"], SubnetId=built["wl_subnet"])[
        "AssociationId"
    ]
    # 8. Wavelength instance, gp2 root
    offered = ec2.describe_instance_type_offerings(
        LocationType="availability-zone", Filters=[{"Name": "location", "Values": [WL_ZONE]}]
    )["InstanceTypeOfferings"]
    assert "t3.medium" in {offering["InstanceType"] for offering in offered}
    instance = ec2.run_instances(
        ImageId=image_id,
        InstanceType="t3.medium",
        MinCount=1,
        MaxCount=1,
        SubnetId=built["wl_subnet"],
        SecurityGroupIds=[built["wl-sg"]],
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeType": "gp2", "VolumeSize": 8}}],
        ClientToken=f"{ENVIRONMENT}-wl-instance",
        TagSpecifications=tags("instance", "wl-instance"),
    )["Instances"][0]
    built["wl_instance"] = instance["InstanceId"]
    # 9. Carrier IP
    address = ec2.allocate_address(
        Domain="vpc", NetworkBorderGroup=WL_ZONE, TagSpecifications=tags("elastic-ip", "carrier-ip")
    )
    built["carrier_ip"], built["allocation"] = address["CarrierIp"], address["AllocationId"]
    built["eip_assoc"] = ec2.associate_address(
        AllocationId=address["AllocationId"],
        NetworkInterfaceId=instance["NetworkInterfaces"][0]["NetworkInterfaceId"],
    )["AssociationId"]
    return built


def teardown(ec2, built: dict) -> None:
    """The reverse of build(), leaving nothing tagged behind."""
    ec2.disassociate_address(AssociationId=built["eip_assoc"])
    ec2.release_address(AllocationId=built["allocation"], NetworkBorderGroup=WL_ZONE)
    instance_ids = [built["wl_instance"], built["bastion"]]
    ec2.terminate_instances(InstanceIds=instance_ids)
    ec2.get_waiter("instance_terminated").wait(InstanceIds=instance_ids, WaiterConfig={"Delay": 1})
    for table, association in (("wl_rtb", "wl_assoc"), ("public_rtb", "public_assoc")):
        ec2.delete_route(RouteTableId=built[table], DestinationCidrBlock="0.0.0.0/0")
        ec2.disassociate_route_table(AssociationId=built[association])
        ec2.delete_route_table(RouteTableId=built[table])
    ec2.delete_carrier_gateway(CarrierGatewayId=built["cagw"])
    ec2.detach_internet_gateway(InternetGatewayId=built["igw"], VpcId=built["vpc"])
    ec2.delete_internet_gateway(InternetGatewayId=built["igw"])
    # The instances' interfaces went with them, as on AWS.
    assert (
        ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [built["vpc"]]}])[
            "NetworkInterfaces"
        ]
        == []
    )
    ec2.delete_security_group(GroupId=built["wl-sg"])
    ec2.delete_security_group(GroupId=built["bastion-sg"])
    ec2.delete_subnet(SubnetId=built["wl_subnet"])
    ec2.delete_subnet(SubnetId=built["public_subnet"])
    ec2.delete_vpc(VpcId=built["vpc"])


def test_seed_build_and_teardown(control, ec2, image_id):
    built = build(ec2, image_id)

    inventory = control.get(f"inventory?tag=wlpanel:environment={ENVIRONMENT}")["items"]
    assert sorted(item["type"] for item in inventory) == sorted(
        ["vpc", "subnet", "subnet", "internet-gateway", "route-table", "route-table", "security-group"]
        + ["security-group", "instance", "instance", "carrier-gateway", "elastic-ip"]
    )
    wl_instance = ec2.describe_instances(InstanceIds=[built["wl_instance"]])["Reservations"][0]["Instances"][
        0
    ]
    assert wl_instance["Placement"]["AvailabilityZone"] == WL_ZONE
    assert wl_instance["NetworkInterfaces"][0]["Association"]["CarrierIp"] == built["carrier_ip"]
    assert "PublicIpAddress" not in wl_instance
    routes = ec2.describe_route_tables(RouteTableIds=[built["wl_rtb"]])["RouteTables"][0]
    assert any(route.get("CarrierGatewayId") == built["cagw"] for route in routes["Routes"])
    assert [association.get("SubnetId") for association in routes["Associations"]] == [built["wl_subnet"]]
    opted = ec2.describe_availability_zones(Filters=[{"Name": "group-name", "Values": [WL_GROUP]}])
    assert {zone["OptInStatus"] for zone in opted["AvailabilityZones"]} == {"opted-in"}

    teardown(ec2, built)

    assert control.get("inventory?tag=wlpanel:environment")["items"] == []
