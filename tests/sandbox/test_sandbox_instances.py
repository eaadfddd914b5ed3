"""Instance types and volumes in a Wavelength Zone (behaviour 4); pending time (behaviour 9)."""

import time

import pytest
from botocore.exceptions import ClientError
from sandbox_helpers import PARENT_ZONE, WL_ZONE

ZONE_TYPES = {"t3.medium", "t3.xlarge", "r5.2xlarge", "g4dn.2xlarge"}


def test_instance_type_offerings_of_a_wavelength_zone(ec2):
    offerings = ec2.describe_instance_type_offerings(
        LocationType="availability-zone", Filters=[{"Name": "location", "Values": [WL_ZONE]}]
    )["InstanceTypeOfferings"]

    assert {offering["InstanceType"] for offering in offerings} == ZONE_TYPES
    assert {offering["Location"] for offering in offerings} == {WL_ZONE}


def test_only_offered_types_launch_in_a_wavelength_subnet(wavelength_vpc, image_id):
    ec2, _, subnet_id = wavelength_vpc

    with pytest.raises(ClientError) as raised:
        ec2.run_instances(
            ImageId=image_id, InstanceType="m5.24xlarge", MinCount=1, MaxCount=1, SubnetId=subnet_id
        )
    launched = ec2.run_instances(
        ImageId=image_id, InstanceType="t3.medium", MinCount=1, MaxCount=1, SubnetId=subnet_id
    )

    assert raised.value.response["Error"]["Code"] == "Unsupported"
    assert launched["Instances"][0]["Placement"]["AvailabilityZone"] == WL_ZONE


def test_only_gp2_volumes_launch_in_a_wavelength_subnet(wavelength_vpc, image_id):
    ec2, _, subnet_id = wavelength_vpc

    def launch(volume_type):
        return ec2.run_instances(
            ImageId=image_id,
            InstanceType="t3.medium",
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet_id,
            BlockDeviceMappings=[
                {"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8, "VolumeType": volume_type}}
            ],
        )

    with pytest.raises(ClientError) as raised:
        launch("gp3")
    assert raised.value.response["Error"]["Code"] == "InvalidParameterCombination"
    assert launch("gp2")["Instances"][0]["InstanceType"] == "t3.medium"


def test_regional_subnet_keeps_any_instance_type(control, opted_in, image_id):
    control.post("quotas", {"quota_code": "L-1216C47A", "value": 96})  # m5.24xlarge: 96 vCPUs
    vpc_id = opted_in.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet_id = opted_in.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24", AvailabilityZone=PARENT_ZONE)[
        "Subnet"
    ]["SubnetId"]

    launched = opted_in.run_instances(
        ImageId=image_id, InstanceType="m5.24xlarge", MinCount=1, MaxCount=1, SubnetId=subnet_id
    )

    assert launched["Instances"][0]["InstanceType"] == "m5.24xlarge"


def test_instances_stay_pending_then_run_and_the_waiter_waits(control, ec2, image_id):
    control.post("pending", {"seconds": 1.2})
    instance_id = ec2.run_instances(ImageId=image_id, InstanceType="t3.micro", MinCount=1, MaxCount=1)[
        "Instances"
    ][0]["InstanceId"]
    started = time.monotonic()

    state = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]
    assert state == {"Code": 0, "Name": "pending"}
    ec2.get_waiter("instance_running").wait(
        InstanceIds=[instance_id], WaiterConfig={"Delay": 0.5, "MaxAttempts": 20}
    )

    assert time.monotonic() - started >= 0.8
    state = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]
    assert state == {"Code": 16, "Name": "running"}


def test_a_pending_instance_can_be_terminated(control, ec2, image_id):
    control.post("pending", {"seconds": 30})
    instance_id = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]

    terminating = ec2.terminate_instances(InstanceIds=[instance_id])["TerminatingInstances"][0]

    state = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"]
    assert terminating["PreviousState"]["Name"] == "pending"
    # Shutting down takes the pending time too (30 s here); it never becomes running.
    assert state["Name"] == "shutting-down"


def test_pending_time_is_bounded(control):
    with pytest.raises(Exception, match="400"):
        control.post("pending", {"seconds": 31})


def test_terminating_twice_is_idempotent(ec2, image_id):
    instance = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0]
    interface_id = instance["NetworkInterfaces"][0]["NetworkInterfaceId"]

    ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
    ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])

    interfaces = ec2.describe_network_interfaces(
        Filters=[{"Name": "network-interface-id", "Values": [interface_id]}]
    )
    assert interfaces["NetworkInterfaces"] == []  # deleted with the instance, as on AWS
