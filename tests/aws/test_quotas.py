"""The pre-flight reads against the sandbox: quota values (applied, else AWS's default) and what
the Region already uses, every call in the call log."""

import pytest
import requests

from audit.models import AwsCall
from aws import quotas as aws_quotas
from aws.client import CallContext, ec2_client, servicequotas_client
from tests.conftest import SFO, opt_in_and_wait
from tests.sandbox.sandbox_helpers import STOCK_IMAGE_ID

pytestmark = pytest.mark.django_db(transaction=True)
REGION = "us-west-2"
CONTEXT = CallContext(correlation_id="quotas-test")


@pytest.fixture
def ec2(sandbox):
    return ec2_client(REGION, context=CONTEXT)


@pytest.fixture
def servicequotas(sandbox):
    return servicequotas_client(REGION, context=CONTEXT)


def test_the_applied_value_wins_and_aws_default_answers_otherwise(sandbox, servicequotas):
    requests.post(f"{sandbox.url}/_sandbox/quotas", json={"quota_code": "L-F678F1CE", "value": 7}, timeout=10).raise_for_status()

    vpcs = aws_quotas.quota_value(servicequotas, "vpc", "L-F678F1CE")
    # A quota the sandbox does not serve (P instances): neither call answers, and it says why.
    unknown = aws_quotas.quota_value(servicequotas, "ec2", "L-417A185B")

    assert vpcs == {"value": 7.0, "name": "VPCs per Region", "adjustable": True, "source": "applied"}
    assert unknown["error"] == "NoSuchResourceException" and "value" not in unknown
    logged = list(AwsCall.objects.filter(correlation_id="quotas-test").values_list("service", "operation", "outcome"))
    assert ("service-quotas", "GetServiceQuota", "ok") in logged
    assert ("service-quotas", "GetAWSDefaultServiceQuota", "NoSuchResourceException") in logged


def test_region_usage_counts_what_the_quotas_count(ec2):
    opt_in_and_wait(ec2, "us-west-2-wl1")
    before = aws_quotas.region_usage(ec2, instance_types=["g4dn.2xlarge"])

    vpc_id = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ec2.create_internet_gateway()
    ec2.create_security_group(GroupName="extra", Description="extra", VpcId=vpc_id)
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.9.0.0/24", AvailabilityZone=SFO)["Subnet"]["SubnetId"]
    ec2.run_instances(ImageId=STOCK_IMAGE_ID, InstanceType="t3.medium", MinCount=1, MaxCount=1, SubnetId=subnet_id)
    ec2.allocate_address(Domain="vpc", NetworkBorderGroup=SFO)
    after = aws_quotas.region_usage(ec2, instance_types=["g4dn.2xlarge"])

    assert before["vpcs"] >= 1  # the default VPC counts, as on AWS
    assert after["vpcs"] == before["vpcs"] + 1
    assert after["internet_gateways"] == before["internet_gateways"] + 1
    assert after["security_groups"] == before["security_groups"] + 2  # the new VPC's default group too
    assert after["carrier_ips"] == {SFO: before["carrier_ips"].get(SFO, 0) + 1}
    assert after["elastic_ips"] == before["elastic_ips"]
    assert after["instances"] == {"t3.medium": 1}
    assert after["vcpus"] == {"t3.medium": 2, "g4dn.2xlarge": 8}


def test_an_unknown_instance_type_is_left_out_not_fatal(ec2):
    assert aws_quotas.instance_vcpus(ec2, ["t3.micro", "zz9.huge"]) == {"t3.micro": 2}
