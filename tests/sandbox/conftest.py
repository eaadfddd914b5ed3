"""Fixtures: one sandbox server per test session, reset before every test, and boto3 clients."""

import boto3
import pytest
from botocore.config import Config
from sandbox_helpers import STOCK_IMAGE_ID, WL_GROUP, WL_REGION, WL_ZONE, SandboxControl

from sandbox import server


@pytest.fixture(scope="session")
def sandbox_server():
    running = server.start(pending_seconds=0, opt_in_seconds=0)
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def control(sandbox_server) -> SandboxControl:
    """A clean sandbox for every test (instances pending 0 s, opt-ins at once, unless a test says otherwise)."""
    control = SandboxControl(sandbox_server.url)
    control.post("reset")
    return control


@pytest.fixture
def make_client(control):
    """``make_client(service="ec2", region=WL_REGION, config=None)``: a plain boto3 client on the sandbox."""

    def make(service: str = "ec2", region: str = WL_REGION, config: Config | None = None):
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=control.url,
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",
            config=config,
        )

    return make


@pytest.fixture
def ec2(make_client):
    return make_client()


@pytest.fixture
def opted_in(ec2):
    ec2.modify_availability_zone_group(GroupName=WL_GROUP, OptInStatus="opted-in")
    return ec2


@pytest.fixture
def wavelength_vpc(opted_in):
    """A VPC with a Wavelength subnet in WL_ZONE: (ec2 client, vpc id, subnet id)."""
    vpc_id = opted_in.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet_id = opted_in.create_subnet(VpcId=vpc_id, CidrBlock="10.0.0.0/24", AvailabilityZone=WL_ZONE)[
        "Subnet"
    ]["SubnetId"]
    return opted_in, vpc_id, subnet_id


@pytest.fixture
def image_id(ec2):
    """One of moto's stock AMIs (listing all of them takes over a second)."""
    return ec2.describe_images(ImageIds=[STOCK_IMAGE_ID])["Images"][0]["ImageId"]
