"""Root volumes deleted on termination by default, shutting-down before terminated, leftovers visible."""

import time

import pytest
from botocore.exceptions import ClientError

ROOT_DEVICE = "/dev/sda1"  # the RootDeviceName of moto's stock AMI used by these tests


@pytest.fixture
def subnet(ec2):
    vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    return ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.0.1.0/24", AvailabilityZone="us-west-2a")["Subnet"][
        "SubnetId"
    ]


def launch(ec2, image_id, subnet, mappings=None, **extra):
    arguments = dict(
        ImageId=image_id, InstanceType="t3.micro", MinCount=1, MaxCount=1, SubnetId=subnet, **extra
    )
    if mappings is not None:
        arguments["BlockDeviceMappings"] = mappings
    return ec2.run_instances(**arguments)["Instances"][0]


def volumes_of(ec2, instance_id: str) -> dict[str, dict]:
    described = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return {mapping["DeviceName"]: mapping["Ebs"] for mapping in described["BlockDeviceMappings"]}


def terminate_and_wait(ec2, instance_id: str) -> None:
    ec2.terminate_instances(InstanceIds=[instance_id])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[instance_id], WaiterConfig={"Delay": 1})


def test_root_volume_of_a_mapping_without_delete_on_termination_goes_with_the_instance(ec2, image_id, subnet):
    instance = launch(
        ec2,
        image_id,
        subnet,
        [
            {"DeviceName": ROOT_DEVICE, "Ebs": {"VolumeType": "gp2", "VolumeSize": 8}},
            {"DeviceName": "/dev/sdf", "Ebs": {"VolumeType": "gp2", "VolumeSize": 4}},
        ],
    )
    volumes = volumes_of(ec2, instance["InstanceId"])
    assert volumes[ROOT_DEVICE]["DeleteOnTermination"] is True
    assert volumes["/dev/sdf"]["DeleteOnTermination"] is False

    terminate_and_wait(ec2, instance["InstanceId"])

    left = ec2.describe_volumes()["Volumes"]
    assert [(volume["VolumeId"], volume["State"]) for volume in left] == [
        (volumes["/dev/sdf"]["VolumeId"], "available")
    ]


def test_root_volume_kept_when_the_mapping_says_so(ec2, image_id, subnet):
    instance = launch(
        ec2,
        image_id,
        subnet,
        [{"DeviceName": ROOT_DEVICE, "Ebs": {"VolumeSize": 8, "DeleteOnTermination": False}}],
    )
    root = volumes_of(ec2, instance["InstanceId"])[ROOT_DEVICE]

    terminate_and_wait(ec2, instance["InstanceId"])

    assert [volume["VolumeId"] for volume in ec2.describe_volumes()["Volumes"]] == [root["VolumeId"]]


def test_a_mapping_without_the_root_device_still_gets_a_root_volume(ec2, image_id, subnet):
    instance = launch(ec2, image_id, subnet, [{"DeviceName": "/dev/sdf", "Ebs": {"VolumeSize": 4}}])

    volumes = volumes_of(ec2, instance["InstanceId"])

    assert set(volumes) == {ROOT_DEVICE, "/dev/sdf"}
    assert volumes[ROOT_DEVICE]["DeleteOnTermination"] is True


def test_terminated_instance_is_shutting_down_first_and_holds_its_subnet(control, ec2, image_id, subnet):
    instance_id = launch(ec2, image_id, subnet)["InstanceId"]
    control.post("pending", {"seconds": 3})

    answered = ec2.terminate_instances(InstanceIds=[instance_id])["TerminatingInstances"][0]
    again = ec2.terminate_instances(InstanceIds=[instance_id])["TerminatingInstances"][0]
    with pytest.raises(ClientError) as held:
        ec2.delete_subnet(SubnetId=subnet)

    assert (answered["PreviousState"]["Name"], answered["CurrentState"]) == (
        "running",
        {"Code": 32, "Name": "shutting-down"},
    )
    assert again["CurrentState"]["Name"] == "shutting-down"
    assert held.value.response["Error"]["Code"] == "DependencyViolation"
    deadline = time.monotonic() + 20
    while (state := ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]["State"])[
        "Name"
    ] == "shutting-down":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert state == {"Code": 48, "Name": "terminated"}
    ec2.delete_subnet(SubnetId=subnet)


def test_an_interface_attached_without_delete_on_termination_is_left_behind(control, ec2, image_id, subnet):
    interface_id = ec2.create_network_interface(
        SubnetId=subnet,
        TagSpecifications=[{"ResourceType": "network-interface", "Tags": [{"Key": "env", "Value": "7"}]}],
    )["NetworkInterface"]["NetworkInterfaceId"]
    instance_id = launch(ec2, image_id, subnet)["InstanceId"]
    ec2.attach_network_interface(NetworkInterfaceId=interface_id, InstanceId=instance_id, DeviceIndex=1)

    terminate_and_wait(ec2, instance_id)

    left = ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnet]}])[
        "NetworkInterfaces"
    ]
    assert [interface["NetworkInterfaceId"] for interface in left] == [interface_id]
    assert [item["id"] for item in control.get("inventory?tag=env=7")["items"]] == [interface_id]
    with pytest.raises(ClientError) as held:
        ec2.delete_subnet(SubnetId=subnet)
    assert held.value.response["Error"]["Code"] == "DependencyViolation"
