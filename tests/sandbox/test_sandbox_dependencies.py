"""DependencyViolation: deletes and detaches EC2 refuses while something still depends on the resource."""

import pytest
from botocore.exceptions import ClientError


def refused(call, **params) -> dict:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return raised.value.response["Error"]


@pytest.fixture
def vpc(ec2):
    return ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]


@pytest.fixture
def subnet(ec2, vpc):
    return ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-west-2a")["Subnet"][
        "SubnetId"
    ]


def launch(ec2, image_id, subnet, **extra):
    return ec2.run_instances(
        ImageId=image_id, InstanceType="t3.micro", MinCount=1, MaxCount=1, SubnetId=subnet, **extra
    )["Instances"][0]


def test_subnet_with_an_instance_is_refused_until_the_instance_is_terminated(ec2, subnet, image_id):
    instance_id = launch(ec2, image_id, subnet)["InstanceId"]

    error = refused(ec2.delete_subnet, SubnetId=subnet)

    assert error == {
        "Code": "DependencyViolation",
        "Message": f"The subnet '{subnet}' has dependencies and cannot be deleted.",
    }
    ec2.terminate_instances(InstanceIds=[instance_id])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 1})
    ec2.delete_subnet(SubnetId=subnet)
    assert ec2.describe_subnets(Filters=[{"Name": "subnet-id", "Values": [subnet]}])["Subnets"] == []


def test_subnet_with_a_network_interface_is_refused(ec2, subnet):
    interface_id = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]

    assert refused(ec2.delete_subnet, SubnetId=subnet)["Code"] == "DependencyViolation"

    ec2.delete_network_interface(NetworkInterfaceId=interface_id)
    ec2.delete_subnet(SubnetId=subnet)


def test_security_group_used_by_an_interface_is_refused(ec2, vpc, subnet):
    group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    interface_id = ec2.create_network_interface(SubnetId=subnet, Groups=[group])["NetworkInterface"][
        "NetworkInterfaceId"
    ]

    error = refused(ec2.delete_security_group, GroupId=group)

    assert error == {"Code": "DependencyViolation", "Message": f"resource {group} has a dependent object"}
    ec2.delete_network_interface(NetworkInterfaceId=interface_id)
    ec2.delete_security_group(GroupId=group)


def test_security_group_named_in_another_groups_rule_is_refused(ec2, vpc):
    bastion = ec2.create_security_group(GroupName="bastion", Description="b", VpcId=vpc)["GroupId"]
    workload = ec2.create_security_group(GroupName="workload", Description="w", VpcId=vpc)["GroupId"]
    rule = [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": bastion}]}]
    ec2.authorize_security_group_ingress(GroupId=workload, IpPermissions=rule)

    assert refused(ec2.delete_security_group, GroupId=bastion)["Code"] == "DependencyViolation"

    ec2.revoke_security_group_ingress(GroupId=workload, IpPermissions=rule)
    ec2.delete_security_group(GroupId=bastion)
    ec2.delete_security_group(GroupId=workload)


def test_the_default_security_group_cannot_be_deleted_by_a_user(ec2, vpc):
    default = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]["GroupId"]

    assert refused(ec2.delete_security_group, GroupId=default)["Code"] == "CannotDelete"


@pytest.mark.parametrize(
    "holder",
    ["subnet", "security-group", "route-table", "network-acl", "internet-gateway", "carrier-gateway"],
)
def test_vpc_holding_anything_but_its_defaults_is_refused(opted_in, holder):
    ec2 = opted_in
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    steps = _HolderSteps(ec2, vpc, holder)
    steps.create()

    error = refused(ec2.delete_vpc, VpcId=vpc)

    assert error == {
        "Code": "DependencyViolation",
        "Message": f"The vpc '{vpc}' has dependencies and cannot be deleted.",
    }
    steps.remove()
    ec2.delete_vpc(VpcId=vpc)
    assert ec2.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Vpcs"] == []


class _HolderSteps:
    """Create one thing that holds a VPC, and remove it again."""

    def __init__(self, ec2, vpc, kind):
        self.ec2, self.vpc, self.kind, self.id = ec2, vpc, kind, None

    def create(self):
        ec2, vpc = self.ec2, self.vpc
        if self.kind == "subnet":
            self.id = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        elif self.kind == "security-group":
            self.id = ec2.create_security_group(GroupName="g", Description="g", VpcId=vpc)["GroupId"]
        elif self.kind == "route-table":
            self.id = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        elif self.kind == "network-acl":
            self.id = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
        elif self.kind == "internet-gateway":
            self.id = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
            ec2.attach_internet_gateway(InternetGatewayId=self.id, VpcId=vpc)
        elif self.kind == "carrier-gateway":
            self.id = ec2.create_carrier_gateway(VpcId=vpc)["CarrierGateway"]["CarrierGatewayId"]

    def remove(self):
        ec2 = self.ec2
        if self.kind == "subnet":
            ec2.delete_subnet(SubnetId=self.id)
        elif self.kind == "security-group":
            ec2.delete_security_group(GroupId=self.id)
        elif self.kind == "route-table":
            ec2.delete_route_table(RouteTableId=self.id)
        elif self.kind == "network-acl":
            ec2.delete_network_acl(NetworkAclId=self.id)
        elif self.kind == "internet-gateway":
            ec2.detach_internet_gateway(InternetGatewayId=self.id, VpcId=self.vpc)
        elif self.kind == "carrier-gateway":
            ec2.delete_carrier_gateway(CarrierGatewayId=self.id)


def test_vpc_with_a_network_interface_is_refused(ec2, vpc, subnet):
    interface_id = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]

    assert refused(ec2.delete_vpc, VpcId=vpc)["Code"] == "DependencyViolation"
    assert refused(ec2.delete_subnet, SubnetId=subnet)["Code"] == "DependencyViolation"
    ec2.delete_network_interface(NetworkInterfaceId=interface_id)
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def test_attached_internet_gateway_cannot_be_deleted(ec2, vpc):
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)

    error = refused(ec2.delete_internet_gateway, InternetGatewayId=gateway)

    assert error == {
        "Code": "DependencyViolation",
        "Message": f"The internetGateway '{gateway}' has dependencies and cannot be deleted.",
    }
    ec2.detach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    ec2.delete_internet_gateway(InternetGatewayId=gateway)


def test_internet_gateway_cannot_be_detached_while_public_addresses_are_mapped(ec2, vpc, subnet, image_id):
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    instance = launch(ec2, image_id, subnet)
    address = ec2.allocate_address(Domain="vpc")
    association = ec2.associate_address(
        AllocationId=address["AllocationId"],
        NetworkInterfaceId=instance["NetworkInterfaces"][0]["NetworkInterfaceId"],
    )["AssociationId"]

    error = refused(ec2.detach_internet_gateway, InternetGatewayId=gateway, VpcId=vpc)

    assert error["Code"] == "DependencyViolation"
    assert error["Message"].startswith(f"Network {vpc} has some mapped public address(es).")
    ec2.disassociate_address(AssociationId=association)
    ec2.detach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)


def test_route_table_cannot_be_deleted_while_associated_or_main(ec2, vpc, subnet):
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    association = ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)["AssociationId"]
    main = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"][0]["RouteTableId"]

    associated = refused(ec2.delete_route_table, RouteTableId=table)
    main_error = refused(ec2.delete_route_table, RouteTableId=main)

    assert associated == {
        "Code": "DependencyViolation",
        "Message": f"The routeTable '{table}' has dependencies and cannot be deleted.",
    }
    assert main_error["Code"] == "DependencyViolation"
    ec2.disassociate_route_table(AssociationId=association)
    ec2.delete_route_table(RouteTableId=table)
