"""Service quotas: AWS's default values enforced with EC2's error codes, raised through the control
path, and read through the Service Quotas API in its own JSON protocol."""

import pytest
from botocore.exceptions import ClientError
from sandbox_helpers import NO_RETRIES, WL_REGION, WL_ZONE


def code_of(call, **params) -> str:
    with pytest.raises(ClientError) as raised:
        call(**params)
    return raised.value.response["Error"]["Code"]


@pytest.fixture
def quotas(make_client):
    return make_client("service-quotas")


def test_a_fresh_region_fits_four_vpcs_because_the_default_vpc_counts(control, ec2):
    assert len(ec2.describe_vpcs()["Vpcs"]) == 1  # the default VPC
    for index in range(4):
        ec2.create_vpc(CidrBlock=f"10.{index}.0.0/16")

    assert code_of(ec2.create_vpc, CidrBlock="10.9.0.0/16") == "VpcLimitExceeded"
    assert len(ec2.describe_vpcs()["Vpcs"]) == 5

    control.post("quotas", {"service_code": "vpc", "quota_code": "L-F678F1CE", "value": 6})
    ec2.create_vpc(CidrBlock="10.9.0.0/16")
    assert code_of(ec2.create_vpc, CidrBlock="10.10.0.0/16") == "VpcLimitExceeded"


def test_internet_gateways_count_the_default_vpcs_gateway(ec2):
    for _ in range(4):
        ec2.create_internet_gateway()

    error = code_of(ec2.create_internet_gateway)

    assert error == "InternetGatewayLimitExceeded"


def test_elastic_ips_and_carrier_ips_have_their_own_limits(opted_in):
    for _ in range(5):
        opted_in.allocate_address(Domain="vpc")
    assert code_of(opted_in.allocate_address, Domain="vpc") == "AddressLimitExceeded"

    for _ in range(5):
        opted_in.allocate_address(Domain="vpc", NetworkBorderGroup=WL_ZONE)
    assert (
        code_of(opted_in.allocate_address, Domain="vpc", NetworkBorderGroup=WL_ZONE) == "AddressLimitExceeded"
    )
    assert len(opted_in.describe_addresses()["Addresses"]) == 10


def test_vcpu_quotas_of_a_new_account(control, wavelength_vpc, image_id):
    ec2, _, subnet_id = wavelength_vpc
    control.post("quotas", {"profile": "new-account"})

    def launch(instance_type: str) -> str:
        return ec2.run_instances(
            ImageId=image_id, InstanceType=instance_type, MinCount=1, MaxCount=1, SubnetId=subnet_id
        )["Instances"][0]["InstanceId"]

    first = launch("t3.medium")
    launch("t3.medium")  # 4 of 5 standard vCPUs
    with pytest.raises(ClientError) as third:
        launch("t3.medium")
    gpu = code_of(
        ec2.run_instances,
        ImageId=image_id,
        InstanceType="g4dn.2xlarge",
        MinCount=1,
        MaxCount=1,
        SubnetId=subnet_id,
    )

    assert third.value.response["Error"]["Code"] == "VcpuLimitExceeded"
    assert "current vCPU limit of 5" in third.value.response["Error"]["Message"]
    assert gpu == "VcpuLimitExceeded"
    ec2.terminate_instances(InstanceIds=[first])
    launch("t3.medium")  # a terminating instance no longer counts
    control.post("quotas", {"quota_code": "L-DB2E81BA", "value": 8, "region": WL_REGION})
    assert launch("g4dn.2xlarge").startswith("i-")


def test_the_control_path_refuses_unknown_or_mismatched_quotas(control):
    for body in (
        {"quota_code": "L-NOPE", "value": 1},
        {"service_code": "ec2", "quota_code": "L-F678F1CE", "value": 10},
        {"quota_code": "L-F678F1CE", "value": -1},
        {"profile": "unlimited"},
    ):
        with pytest.raises(Exception, match="400"):
            control.post("quotas", body)


def test_service_quotas_api_answers_applied_and_default_values(control, quotas):
    control.post("quotas", {"quota_code": "L-F678F1CE", "value": 10, "region": WL_REGION})

    applied = quotas.get_service_quota(ServiceCode="vpc", QuotaCode="L-F678F1CE")["Quota"]
    default = quotas.get_aws_default_service_quota(ServiceCode="vpc", QuotaCode="L-F678F1CE")["Quota"]
    ec2_quotas = {
        quota["QuotaCode"]: quota["Value"]
        for quota in quotas.list_service_quotas(ServiceCode="ec2")["Quotas"]
    }
    ec2_defaults = {
        quota["QuotaCode"]: quota["Value"]
        for quota in quotas.list_aws_default_service_quotas(ServiceCode="ec2")["Quotas"]
    }

    assert (applied["QuotaName"], applied["Value"]) == ("VPCs per Region", 10.0)
    assert applied["QuotaArn"] == f"arn:aws:servicequotas:{WL_REGION}:123456789012:vpc/L-F678F1CE"
    assert default["Value"] == 5.0
    assert ec2_quotas == {"L-0263D0A3": 5.0, "L-1216C47A": 64.0, "L-DB2E81BA": 32.0}
    assert ec2_defaults == {"L-0263D0A3": 5.0, "L-1216C47A": 5.0, "L-DB2E81BA": 0.0}
    assert quotas.get_service_quota(ServiceCode="vpc", QuotaCode="L-A4707A72")["Quota"]["Value"] == 5.0


def test_service_quotas_errors_come_back_in_its_json_protocol(control, make_client):
    quotas = make_client("service-quotas", config=NO_RETRIES)

    unknown_code = code_of(quotas.get_service_quota, ServiceCode="ec2", QuotaCode="L-00000000")
    unknown_service = code_of(quotas.list_service_quotas, ServiceCode="nosuchservice")
    unimplemented = code_of(quotas.list_services)
    control.post("faults", {"action": "GetServiceQuota", "code": "TooManyRequestsException", "count": 1})
    injected = code_of(quotas.get_service_quota, ServiceCode="vpc", QuotaCode="L-F678F1CE")

    assert unknown_code == "NoSuchResourceException"
    assert unknown_service == "NoSuchResourceException"
    assert unimplemented == "UnknownOperationException"
    assert injected == "TooManyRequestsException"
    codes = [call["code"] for call in control.get("calls")["calls"]]
    assert codes == ["NoSuchResourceException", "NoSuchResourceException", "UnknownOperationException"] + [
        "TooManyRequestsException"
    ]
