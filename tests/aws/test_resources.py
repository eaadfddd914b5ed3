"""The idempotent AWS functions against the sandbox: a second call never acts twice."""

import pytest

from aws import resources as aws
from aws.client import CallContext, ec2_client, ssm_client
from tests.conftest import SFO, opt_in_and_wait

pytestmark = pytest.mark.django_db(transaction=True)


def tags(key: str) -> dict:
    return {"wlpanel:environment": "7", "wlpanel:resource": key, "Name": f"t-{key}"}


@pytest.fixture
def ec2(sandbox):
    client = ec2_client("us-west-2", context=CallContext(environment_id=7))
    opt_in_and_wait(client, "us-west-2-wl1")
    return client


@pytest.fixture
def vpc_id(ec2):
    return aws.vpc_create(ec2, cidr="10.0.0.0/16", tags=tags("vpc"))


def test_tagged_create_is_found_again_by_its_tags(ec2, vpc_id):
    assert aws.find_id_by_tags(ec2, "vpc", tags("vpc")) == vpc_id
    assert aws.find_id_by_tags(ec2, "vpc", tags("other")) == ""
    described = aws.describe(ec2, "vpc", vpc_id)
    assert described["NetworkAcls"] and {"Key": "wlpanel:resource", "Value": "vpc"} in described["Tags"]


def test_security_group_rules_are_added_once(ec2, vpc_id):
    group_id = aws.security_group_create(ec2, vpc_id=vpc_id, name="g", description="d", tags=tags("sg"))
    rules = [
        {"protocol": "all", "ports": None, "source": "10.0.0.0/16", "description": "vpc"},
        {"protocol": "tcp", "ports": "80,443,1000-2000", "source": "0.0.0.0/0", "description": "web"},
        {"protocol": "icmp", "ports": None, "source": "0.0.0.0/0", "description": "ping"},
    ]
    assert aws.security_group_rules_ensure(ec2, {"GroupId": group_id}, rules) == 5
    group = aws.describe(ec2, "security_group", group_id)
    assert aws.security_group_missing_rules(group, rules) == []
    assert aws.security_group_rules_ensure(ec2, group, rules) == 0
    # A stale description (rules already there) still ends well: duplicates count as done.
    assert aws.security_group_rules_ensure(ec2, {"GroupId": group_id}, rules) == 5


def test_routes_associations_and_attachments_act_once(ec2, vpc_id):
    subnet_id = aws.subnet_create(ec2, vpc_id=vpc_id, cidr="10.0.1.0/24", zone="us-west-2a", tags=tags("subnet"))
    gateway_id = aws.internet_gateway_create(ec2, tags=tags("igw"))
    assert aws.internet_gateway_attach(ec2, {"InternetGatewayId": gateway_id}, vpc_id)
    assert not aws.internet_gateway_attach(ec2, aws.describe(ec2, "internet_gateway", gateway_id), vpc_id)
    table_id = aws.route_table_create(ec2, vpc_id=vpc_id, token="token-rt-1", tags=tags("rt"))
    assert aws.route_table_create(ec2, vpc_id=vpc_id, token="token-rt-1", tags=tags("rt")) == table_id
    fresh = {"RouteTableId": table_id, "Routes": [], "Associations": []}
    assert aws.route_ensure(ec2, fresh, destination="0.0.0.0/0", target_kind="internet_gateway", target_id=gateway_id)
    assert not aws.route_ensure(ec2, fresh, destination="0.0.0.0/0", target_kind="internet_gateway", target_id=gateway_id)
    association = aws.route_table_associate(ec2, fresh, subnet_id)
    table = aws.describe(ec2, "route_table", table_id)
    assert aws.route_table_associate(ec2, table, subnet_id) == association
    assert not aws.route_ensure(ec2, table, destination="0.0.0.0/0", target_kind="internet_gateway", target_id=gateway_id)


def test_instance_token_and_carrier_ip_lifecycle(ec2, vpc_id):
    subnet_id = aws.subnet_create(ec2, vpc_id=vpc_id, cidr="10.0.0.0/24", zone=SFO, tags=tags("wl_subnet"))
    group_id = aws.security_group_create(ec2, vpc_id=vpc_id, name="wl", description="d", tags=tags("wl_sg"))
    image = aws.image_resolve(
        ssm_client("us-west-2", context=CallContext()),
        "SSM /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    )
    device, size = aws.image_root_device(ec2, image)
    spec = aws.InstanceSpec(image, "t3.medium", subnet_id, group_id, root_volume=(device, size, "gp2"))
    instance_id = aws.instance_run(ec2, spec, token="token-i-1", tags=tags("instance"))
    assert aws.instance_run(ec2, spec, token="token-i-1", tags=tags("instance")) == instance_id
    instance = aws.describe(ec2, "instance", instance_id)
    interface = aws.instance_network_interface(instance)

    allocation_id = aws.carrier_ip_allocate(ec2, border_group=SFO, tags=tags("cip"))
    association = aws.carrier_ip_associate(ec2, {"AllocationId": allocation_id}, interface)
    address = aws.describe(ec2, "carrier_ip", allocation_id)
    assert address["CarrierIp"] and address["NetworkBorderGroup"] == SFO
    assert aws.carrier_ip_associate(ec2, address, interface) == association
    assert aws.carrier_ip_release(ec2, address, SFO)
    assert aws.describe_or_none(ec2, "carrier_ip", allocation_id) is None
    assert aws.instance_terminate(ec2, instance_id)
