"""Latency, injected errors, throttling, eventual consistency, the call log and reset."""

import threading
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError
from sandbox_helpers import NO_RETRIES, ONE_RETRY, WL_GROUP, WL_ZONE


def error_code(raised) -> str:
    return raised.value.response["Error"]["Code"]


def http_status(raised) -> int:
    return raised.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_latency_delays_the_named_action(control, ec2):
    control.post("latency", {"action": "DescribeVpcs", "ms": 300})

    started = time.monotonic()
    ec2.describe_vpcs()
    delayed = time.monotonic() - started
    started = time.monotonic()
    ec2.describe_subnets()
    undelayed = time.monotonic() - started

    assert delayed >= 0.3
    assert undelayed < delayed
    call = control.get("calls")["calls"][0]
    assert call["action"] == "DescribeVpcs"
    assert call["duration_ms"] >= 300


def test_latency_overlaps_between_concurrent_calls(control, make_client):
    control.post("latency", {"action": "*", "ms": 400})
    clients = [make_client() for _ in range(4)]
    threads = [threading.Thread(target=client.describe_vpcs) for client in clients]

    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Four 400 ms calls one after another would take at least 1.6 s.
    assert time.monotonic() - started < 1.6


def test_latency_is_applied_before_the_call_is_processed(control, make_client):
    impatient = make_client(config=Config(read_timeout=0.2).merge(NO_RETRIES))
    control.post("latency", {"action": "CreateVpc", "ms": 600})

    with pytest.raises(ReadTimeoutError):
        impatient.create_vpc(
            CidrBlock="10.0.0.0/16",
            TagSpecifications=[
                {"ResourceType": "vpc", "Tags": [{"Key": "wlpanel:environment", "Value": "7"}]}
            ],
        )

    # The call log shows the call at once; the VPC exists once the delay is over.
    assert control.get("calls")["calls"][0] | {"started_at": 0} == {
        "seq": 1,
        "action": "CreateVpc",
        "account": "123456789012",
        "region": "us-west-2",
        "status": None,
        "code": None,
        "started_at": 0,
        "duration_ms": None,
    }
    time.sleep(0.6)
    assert [item["type"] for item in control.get("inventory?tag=wlpanel:environment=7")["items"]] == ["vpc"]


def test_lognormal_latency_and_the_aws_preset(control, ec2):
    control.post("latency", {"preset": "aws"})
    control.post("latency", {"action": "DescribeVpcs", "ms": 50, "distribution": "lognormal", "p99_ratio": 3})

    rules = {rule["action"]: rule for rule in control.get("state")["latency"]}
    assert rules["RunInstances"] == {
        "action": "RunInstances",
        "ms": 1500,
        "distribution": "lognormal",
        "p99_ratio": 3,
    }
    assert rules["Describe*"]["ms"] == 150
    started = time.monotonic()
    ec2.describe_vpcs()
    # Only a lower bound: a loaded machine may take longer, and speed is the benchmarks' business.
    assert time.monotonic() - started > 0.005


def test_request_limit_exceeded_for_a_count_of_calls(control, make_client):
    ec2 = make_client(config=NO_RETRIES)
    fault = control.post("faults", {"action": "DescribeVpcs", "code": "RequestLimitExceeded", "count": 2})

    for _ in range(2):
        with pytest.raises(ClientError) as raised:
            ec2.describe_vpcs()
        assert error_code(raised) == "RequestLimitExceeded"
        assert http_status(raised) == 503
    ec2.describe_vpcs()

    assert fault["id"]
    assert control.get("state")["faults"][0]["fired"] == 2


def test_max_attempts_one_still_retries_once(control, make_client):
    ec2 = make_client(config=ONE_RETRY)
    control.post("faults", {"action": "DescribeVpcs", "code": "RequestLimitExceeded", "count": 1})

    ec2.describe_vpcs()

    assert [call["code"] for call in control.get("calls")["calls"]] == ["RequestLimitExceeded", None]


def test_request_limit_exceeded_at_a_rate(control, make_client):
    ec2 = make_client(config=NO_RETRIES)
    control.post("faults", {"action": "*", "code": "RequestLimitExceeded", "status": 503, "rate": 0.5})

    outcomes = []
    for _ in range(40):
        try:
            ec2.describe_vpcs()
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])

    assert set(outcomes) == {"ok", "RequestLimitExceeded"}


def test_faults_can_be_cleared(control, make_client):
    ec2 = make_client(config=NO_RETRIES)
    control.post("faults", {"preset": "request-limit"})
    control.delete("faults")

    ec2.describe_vpcs()


def test_throttle_answers_request_limit_exceeded_when_the_bucket_is_empty(control, make_client, image_id):
    ec2 = make_client(config=NO_RETRIES)
    control.post("throttle", {"enabled": True, "scale": 0.001})

    for _ in range(5):  # RunInstances: a bucket of 5
        ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)
    with pytest.raises(ClientError) as raised:
        ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)

    assert error_code(raised) == "RequestLimitExceeded"
    assert http_status(raised) == 503
    ec2.describe_vpcs()  # other buckets are still full
    assert control.count("RunInstances") == 6


def test_throttle_takes_other_bucket_numbers_per_category(control, make_client):
    ec2 = make_client(config=NO_RETRIES)
    answer = control.post(
        "throttle", {"enabled": True, "buckets": {"mutating": {"size": 3, "refill_per_second": 0.01}}}
    )
    assert answer["throttle"]["buckets"]["mutating"] == {"size": 3.0, "refill_per_second": 0.01}
    assert answer["throttle"]["buckets"]["run-instances"] == {"size": 5, "refill_per_second": 2}

    for number in range(3):
        ec2.create_vpc(CidrBlock=f"10.{number}.0.0/16")
    with pytest.raises(ClientError) as raised:
        ec2.create_vpc(CidrBlock="10.9.0.0/16")
    assert error_code(raised) == "RequestLimitExceeded"


@pytest.mark.parametrize(
    "buckets, message",
    [
        ({"mutatin": {"size": 3}}, "unknown throttle category 'mutatin'"),
        ({"mutating": {"size": 0}}, "size must be >= 1"),
        ({"mutating": {"rate": 1}}, "give"),
        ({"mutating": {"size": "many"}}, "mutating:"),
    ],
)
def test_bad_throttle_bucket_numbers_are_refused_with_a_reason(control, buckets, message):
    import requests

    answer = requests.post(f"{control.url}/_sandbox/throttle", json={"enabled": True, "buckets": buckets}, timeout=10)
    assert answer.status_code == 400 and message in answer.json()["detail"]


def test_capacity_error_is_retried_by_botocore_then_surfaces(wavelength_vpc, control, image_id):
    ec2, _, subnet_id = wavelength_vpc
    control.post("faults", {"preset": "capacity", "zone": WL_ZONE})
    control.delete("calls")

    with pytest.raises(ClientError) as raised:
        ec2.run_instances(
            ImageId=image_id, InstanceType="t3.medium", MinCount=1, MaxCount=1, SubnetId=subnet_id
        )

    assert error_code(raised) == "InsufficientInstanceCapacity"
    assert http_status(raised) == 500
    assert control.count("RunInstances") == 3  # botocore standard mode: 3 attempts


def test_transient_capacity_error_is_hidden_by_botocore_retries(wavelength_vpc, control, image_id):
    ec2, _, subnet_id = wavelength_vpc
    control.post("faults", {"preset": "capacity", "zone": WL_ZONE, "count": 1})
    control.delete("calls")

    ec2.run_instances(ImageId=image_id, InstanceType="t3.medium", MinCount=1, MaxCount=1, SubnetId=subnet_id)

    assert [call["code"] for call in control.get("calls?action=RunInstances")["calls"]] == [
        "InsufficientInstanceCapacity",
        None,
    ]


def test_capacity_fault_only_hits_its_zone(wavelength_vpc, control, image_id):
    ec2, _, _ = wavelength_vpc
    control.post("faults", {"preset": "capacity", "zone": WL_ZONE})

    ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)


def test_eventual_consistency_not_found_then_found(control, make_client):
    ec2 = make_client(config=NO_RETRIES)
    control.post("consistency", {"seconds": 1, "rate": 1.0})
    vpc_id = ec2.create_vpc(
        CidrBlock="10.0.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "k", "Value": "v"}]}],
    )["Vpc"]["VpcId"]
    created = time.monotonic()

    with pytest.raises(ClientError) as described:
        ec2.describe_vpcs(VpcIds=[vpc_id])
    with pytest.raises(ClientError) as used:
        ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24")
    by_tag = ec2.describe_vpcs(Filters=[{"Name": "tag:k", "Values": ["v"]}])["Vpcs"]

    assert error_code(described) == "InvalidVpcID.NotFound"
    assert error_code(used) == "InvalidVpcID.NotFound"
    assert [vpc["VpcId"] for vpc in by_tag] == [vpc_id]
    time.sleep(max(0.0, 1.1 - (time.monotonic() - created)))
    assert ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["VpcId"] == vpc_id


def test_eventual_consistency_of_a_new_instance(control, make_client, image_id):
    ec2 = make_client(config=NO_RETRIES)
    control.post("consistency", {"seconds": 5})
    instance_id = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]

    with pytest.raises(ClientError) as raised:
        ec2.describe_instances(InstanceIds=[instance_id])

    assert error_code(raised) == "InvalidInstanceID.NotFound"


def test_reset_clears_everything(control, opted_in):
    control.post("latency", {"action": "*", "ms": 1})
    control.post("faults", {"action": "DescribeRegions", "code": "InternalError"})
    control.post("throttle", {"enabled": True})
    control.post("consistency", {"seconds": 3})
    control.post("pending", {"seconds": 10})
    opted_in.create_vpc(
        CidrBlock="10.0.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "reset", "Value": "me"}]}],
    )

    control.post("reset")

    state = control.get("state")
    assert state["latency"] == [] and state["faults"] == [] and state["opted_in_groups"] == []
    assert state["throttle"]["enabled"] is False
    assert state["consistency"] == {"seconds": 0.0, "rate": 1.0}
    assert state["pending_seconds"] == 0
    assert control.get("calls") == {"counts": {}, "calls": []}
    assert control.get("inventory?tag=reset")["items"] == []
    zone = opted_in.describe_availability_zones(
        AllAvailabilityZones=True, Filters=[{"Name": "group-name", "Values": [WL_GROUP]}]
    )["AvailabilityZones"][0]
    assert zone["OptInStatus"] == "not-opted-in"


def test_call_log_counts_and_records_calls(control, ec2):
    ec2.describe_vpcs()
    ec2.describe_vpcs()
    ec2.describe_subnets()

    log = control.get("calls")
    assert log["counts"] == {"DescribeVpcs": 2, "DescribeSubnets": 1}
    assert [(call["action"], call["region"], call["status"], call["code"]) for call in log["calls"]] == [
        ("DescribeVpcs", "us-west-2", 200, None),
        ("DescribeVpcs", "us-west-2", 200, None),
        ("DescribeSubnets", "us-west-2", 200, None),
    ]
    assert log["calls"][0]["started_at"] <= log["calls"][2]["started_at"]
    control.delete("calls")
    assert control.get("calls")["counts"] == {}



def test_an_after_effect_fault_lets_the_call_take_effect_then_answers_the_error(control, make_client):
    control.post("faults", {"action": "CreateVpc", "code": "InternalError", "after_effect": True, "count": 1})
    ec2 = make_client(config=NO_RETRIES)
    tags = [{"ResourceType": "vpc", "Tags": [{"Key": "made", "Value": "after-effect"}]}]
    with pytest.raises(ClientError) as raised:
        ec2.create_vpc(CidrBlock="10.42.0.0/16", TagSpecifications=tags)
    assert error_code(raised) == "InternalError"
    found = ec2.describe_vpcs(Filters=[{"Name": "tag:made", "Values": ["after-effect"]}])["Vpcs"]
    assert [vpc["CidrBlock"] for vpc in found] == ["10.42.0.0/16"]  # it was created all the same
