"""DryRun: DryRunOperation (HTTP 412) on every EC2 action the product calls, and nothing changes."""

import pytest
from botocore.exceptions import ClientError
from sandbox_helpers import WL_GROUP, WL_ZONE

PUBLIC_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDJ0hd7A5x1MZvBbcPUzLYdpOCZCv1JxdZlvCCqyw0JHnn6Rf8iGFFLzzGH"
    "SBKkOULN+8SFjMxhRmTt9Q9J2U3HGHNjUDoSBIiD0H7A4C3n6ULt8AOy6bSSDOs2d4KV8A8CIdcXOGHVrZEQbqfF3kWiO0wP9"
    "IGVw6fTg/JbYuk0AlHXrq6JLVxtqSkdNMHk7U2DgSYM3D/dr0KDbw0v8Fs0plmxu7uPGyO29nbp7bEzlMLwR+xaiykEGGw1IHW"
    "Jd7sZQ2FQBkvbSbN8CZTXqSZf1XyUzdBw+9XhMkCwvyRU6dw9oqHNdMz+tfrZBhw+Z5zzq4lMkkd0KNUH0bXNeqBMy9DFRp "
    "test"
)


def dry_run(call, **params) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call(DryRun=True, **params)
    return raised.value


def assert_dry_run_operation(error: ClientError) -> None:
    assert error.response["Error"]["Code"] == "DryRunOperation"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 412


@pytest.fixture
def built(wavelength_vpc, image_id):
    """A small environment: VPC, subnets, IGW, carrier gateway, route tables, SG, instance, Carrier IP."""
    ec2, vpc_id, wl_subnet = wavelength_vpc
    public_subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24", AvailabilityZone="us-west-2a")[
        "Subnet"
    ]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    cagw = ec2.create_carrier_gateway(VpcId=vpc_id)["CarrierGateway"]["CarrierGatewayId"]
    rtb = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", CarrierGatewayId=cagw)
    association = ec2.associate_route_table(RouteTableId=rtb, SubnetId=wl_subnet)["AssociationId"]
    group = ec2.create_security_group(GroupName="g", Description="g", VpcId=vpc_id)["GroupId"]
    acl = ec2.create_network_acl(VpcId=vpc_id)["NetworkAcl"]["NetworkAclId"]
    instance = ec2.run_instances(
        ImageId=image_id, InstanceType="t3.medium", MinCount=1, MaxCount=1, SubnetId=wl_subnet
    )["Instances"][0]
    address = ec2.allocate_address(Domain="vpc", NetworkBorderGroup=WL_ZONE)
    eip_association = ec2.associate_address(
        AllocationId=address["AllocationId"],
        NetworkInterfaceId=instance["NetworkInterfaces"][0]["NetworkInterfaceId"],
    )["AssociationId"]
    ec2.create_key_pair(KeyName="kept")
    return {
        "ec2": ec2,
        "vpc": vpc_id,
        "wl_subnet": wl_subnet,
        "public_subnet": public_subnet,
        "igw": igw,
        "cagw": cagw,
        "rtb": rtb,
        "association": association,
        "group": group,
        "acl": acl,
        "instance": instance["InstanceId"],
        "interface": instance["NetworkInterfaces"][0]["NetworkInterfaceId"],
        "allocation": address["AllocationId"],
        "eip_association": eip_association,
        "image": image_id,
    }


def snapshot(ec2) -> dict:
    """Everything a dry run could have changed, as describes show it."""
    instances = [
        (instance["InstanceId"], instance["State"]["Name"])
        for reservation in ec2.describe_instances()["Reservations"]
        for instance in reservation["Instances"]
    ]
    return {
        "vpcs": ec2.describe_vpcs()["Vpcs"],
        "subnets": ec2.describe_subnets()["Subnets"],
        "igws": ec2.describe_internet_gateways()["InternetGateways"],
        "cagws": ec2.describe_carrier_gateways()["CarrierGateways"],
        "route_tables": ec2.describe_route_tables()["RouteTables"],
        "groups": ec2.describe_security_groups()["SecurityGroups"],
        "acls": ec2.describe_network_acls()["NetworkAcls"],
        "instances": sorted(instances),
        "addresses": ec2.describe_addresses()["Addresses"],
        "keys": sorted(key["KeyName"] for key in ec2.describe_key_pairs()["KeyPairs"]),
        "tags": ec2.describe_tags()["Tags"],
        "zones": ec2.describe_availability_zones(AllAvailabilityZones=True)["AvailabilityZones"],
    }


def calls(b: dict) -> list[tuple[str, dict]]:
    """(action, parameters) for every EC2 action the product calls."""
    rule = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}]
    return [
        ("create_vpc", {"CidrBlock": "10.1.0.0/16"}),
        ("delete_vpc", {"VpcId": b["vpc"]}),
        ("create_subnet", {"VpcId": b["vpc"], "CidrBlock": "10.0.9.0/24", "AvailabilityZone": "us-west-2b"}),
        ("delete_subnet", {"SubnetId": b["public_subnet"]}),
        ("create_internet_gateway", {}),
        ("delete_internet_gateway", {"InternetGatewayId": b["igw"]}),
        ("attach_internet_gateway", {"InternetGatewayId": b["igw"], "VpcId": b["vpc"]}),
        ("detach_internet_gateway", {"InternetGatewayId": b["igw"], "VpcId": b["vpc"]}),
        ("create_route_table", {"VpcId": b["vpc"]}),
        ("delete_route_table", {"RouteTableId": b["rtb"]}),
        ("associate_route_table", {"RouteTableId": b["rtb"], "SubnetId": b["public_subnet"]}),
        ("disassociate_route_table", {"AssociationId": b["association"]}),
        (
            "create_route",
            {"RouteTableId": b["rtb"], "DestinationCidrBlock": "10.9.0.0/16", "GatewayId": b["igw"]},
        ),
        (
            "replace_route",
            {"RouteTableId": b["rtb"], "DestinationCidrBlock": "0.0.0.0/0", "CarrierGatewayId": b["cagw"]},
        ),
        ("delete_route", {"RouteTableId": b["rtb"], "DestinationCidrBlock": "0.0.0.0/0"}),
        ("create_security_group", {"GroupName": "dry", "Description": "dry", "VpcId": b["vpc"]}),
        ("delete_security_group", {"GroupId": b["group"]}),
        ("authorize_security_group_ingress", {"GroupId": b["group"], "IpPermissions": rule}),
        ("authorize_security_group_egress", {"GroupId": b["group"], "IpPermissions": rule}),
        ("revoke_security_group_ingress", {"GroupId": b["group"], "IpPermissions": rule}),
        ("revoke_security_group_egress", {"GroupId": b["group"], "IpPermissions": rule}),
        ("create_carrier_gateway", {"VpcId": b["vpc"]}),
        ("delete_carrier_gateway", {"CarrierGatewayId": b["cagw"]}),
        ("create_network_acl", {"VpcId": b["vpc"]}),
        ("delete_network_acl", {"NetworkAclId": b["acl"]}),
        (
            "create_network_acl_entry",
            {
                "NetworkAclId": b["acl"],
                "RuleNumber": 100,
                "Protocol": "-1",
                "RuleAction": "allow",
                "Egress": False,
                "CidrBlock": "0.0.0.0/0",
            },
        ),
        ("delete_network_acl_entry", {"NetworkAclId": b["acl"], "RuleNumber": 100, "Egress": False}),
        ("create_key_pair", {"KeyName": "dry"}),
        ("import_key_pair", {"KeyName": "dry", "PublicKeyMaterial": PUBLIC_KEY.encode()}),
        ("delete_key_pair", {"KeyName": "kept"}),
        ("create_tags", {"Resources": [b["vpc"]], "Tags": [{"Key": "dry", "Value": "run"}]}),
        ("delete_tags", {"Resources": [b["vpc"]], "Tags": [{"Key": "dry"}]}),
        (
            "run_instances",
            {
                "ImageId": b["image"],
                "InstanceType": "t3.micro",
                "MinCount": 1,
                "MaxCount": 1,
                "SubnetId": b["public_subnet"],
            },
        ),
        ("terminate_instances", {"InstanceIds": [b["instance"]]}),
        ("allocate_address", {"Domain": "vpc", "NetworkBorderGroup": WL_ZONE}),
        ("allocate_address", {"Domain": "vpc"}),
        ("associate_address", {"AllocationId": b["allocation"], "NetworkInterfaceId": b["interface"]}),
        ("disassociate_address", {"AssociationId": b["eip_association"]}),
        ("release_address", {"AllocationId": b["allocation"], "NetworkBorderGroup": WL_ZONE}),
        ("modify_availability_zone_group", {"GroupName": WL_GROUP, "OptInStatus": "opted-in"}),
    ]


def test_every_product_action_answers_dry_run_operation_and_changes_nothing(built):
    ec2 = built["ec2"]
    before = snapshot(ec2)

    answered = {}
    for action, params in calls(built):
        error = dry_run(getattr(ec2, action), **params)
        answered[action] = (
            error.response["Error"]["Code"],
            error.response["ResponseMetadata"]["HTTPStatusCode"],
        )

    assert answered == {action: ("DryRunOperation", 412) for action, _ in calls(built)}
    assert snapshot(ec2) == before


def test_a_dry_run_names_an_unknown_id_as_a_real_call_would(opted_in):
    vpc_id = opted_in.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    cases = [
        ("delete_vpc", {"VpcId": "vpc-0123456789abcdef0"}, "InvalidVpcID.NotFound"),
        ("delete_subnet", {"SubnetId": "subnet-0123456789abcdef0"}, "InvalidSubnetID.NotFound"),
        ("create_route_table", {"VpcId": "vpc-0123456789abcdef0"}, "InvalidVpcID.NotFound"),
        (
            "delete_carrier_gateway",
            {"CarrierGatewayId": "cagw-0123456789abcdef0"},
            "InvalidCarrierGatewayID.NotFound",
        ),
        ("delete_security_group", {"GroupId": "sg-0123456789abcdef0"}, "InvalidGroup.NotFound"),
        ("terminate_instances", {"InstanceIds": ["i-0123456789abcdef0"]}, "InvalidInstanceID.NotFound"),
        ("create_vpc", {"CidrBlock": "10.0.0.0/8"}, "InvalidVpc.Range"),
        (
            "modify_availability_zone_group",
            {"GroupName": WL_GROUP, "OptInStatus": "not-opted-in"},
            "InvalidParameterValue",
        ),
    ]
    for action, params, code in cases:
        assert dry_run(getattr(opted_in, action), **params).response["Error"]["Code"] == code, action

    assert [vpc["VpcId"] for vpc in opted_in.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]] == [vpc_id]


def test_a_dry_run_of_a_carrier_gateway_or_wavelength_subnet_still_needs_the_opt_in(ec2):
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]

    gateway = dry_run(ec2.create_carrier_gateway, VpcId=vpc_id)
    subnet = dry_run(ec2.create_subnet, VpcId=vpc_id, CidrBlock="10.0.0.0/24", AvailabilityZone=WL_ZONE)

    assert gateway.response["Error"]["Code"] == "OptInRequired"
    assert subnet.response["Error"]["Code"] == "OptInRequired"


def test_a_dry_run_teardown_deletes_nothing(built):
    ec2 = built["ec2"]

    for action, params in (
        ("terminate_instances", {"InstanceIds": [built["instance"]]}),
        ("delete_carrier_gateway", {"CarrierGatewayId": built["cagw"]}),
        ("delete_vpc", {"VpcId": built["vpc"]}),
    ):
        assert_dry_run_operation(dry_run(getattr(ec2, action), **params))

    instance = ec2.describe_instances(InstanceIds=[built["instance"]])["Reservations"][0]["Instances"][0]
    assert instance["State"]["Name"] == "running"
    assert ec2.describe_carrier_gateways(CarrierGatewayIds=[built["cagw"]])["CarrierGateways"][0][
        "State"
    ] == ("available")
    assert ec2.describe_vpcs(VpcIds=[built["vpc"]])["Vpcs"]
