"""The seed's walk-through with the real AWS CLI (v1, from PyPI) against the served sandbox.

The CLI lives in its own virtualenv (its botocore is not the product's): ``WLPANEL_AWS_CLI``
names an ``aws`` executable, else ``var/awscli`` is created once with ``pip install awscli==<AWSCLI>``.
"""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sandbox_helpers import WL_GROUP, WL_REGION, WL_ZONE

ROOT = Path(__file__).resolve().parents[2]
CLI_VENV = ROOT / "var" / "awscli"
SESSION = Path(__file__).with_name("aws_cli_session.py")
AWSCLI = "awscli==1.46.3"  # pinned: the walk-through runs awscli.clidriver.main() in one process


def _aws_executable() -> Path:
    if os.environ.get("WLPANEL_AWS_CLI"):
        return Path(os.environ["WLPANEL_AWS_CLI"])
    executable = CLI_VENV / "bin" / "aws"
    if not executable.exists():
        subprocess.run([sys.executable, "-m", "venv", str(CLI_VENV)], check=True)
        subprocess.run([str(CLI_VENV / "bin" / "pip"), "install", "--quiet", AWSCLI], check=True, timeout=600)
    return executable


@pytest.fixture(scope="session")
def aws_executable() -> Path:
    return _aws_executable()


class Cli:
    """``aws ec2 ...`` against the sandbox; answers parsed JSON, or raises with the CLI's stderr.

    The commands run in one process of the CLI's own Python (aws_cli_session.py), each through
    `awscli.clidriver.main()` as the `aws` script runs it, without ~45 start-ups of the interpreter."""

    def __init__(self, executable: Path, endpoint: str):
        self.executable = executable
        self.endpoint = endpoint
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(CLI_VENV),
            "AWS_ACCESS_KEY_ID": "sandbox",
            "AWS_SECRET_ACCESS_KEY": "sandbox",
            "AWS_DEFAULT_REGION": WL_REGION,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }
        self.session = subprocess.Popen(
            [str(_python_of(executable)), str(SESSION)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=self.env,
        )

    def close(self) -> None:
        self.session.stdin.close()
        self.session.wait(timeout=30)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        argv = ["--endpoint-url", self.endpoint, "--output", "json", "ec2", *args]
        self.session.stdin.write(json.dumps(argv) + "\n")
        self.session.stdin.flush()
        line = self.session.stdout.readline()
        assert line, f"the AWS CLI session ended (exit code {self.session.poll()})"
        done = json.loads(line)
        return subprocess.CompletedProcess(["aws", *argv], done["returncode"], done["stdout"], done["stderr"])

    def __call__(self, *args: str) -> dict:
        done = self.run(*args)
        assert done.returncode == 0, f"aws ec2 {' '.join(args)}: {done.stderr}"
        return json.loads(done.stdout) if done.stdout.strip() else {}

    def fails(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode != 0, f"aws ec2 {' '.join(args)} succeeded"
        return done.stderr


def _python_of(executable: Path) -> Path:
    """The interpreter the `aws` script runs with (its `#!` line)."""
    first = executable.read_text().splitlines()[0]
    assert first.startswith("#!"), f"{executable} is not a script: {first!r}"
    words = first[2:].split()
    return Path(shutil.which(words[1]) if Path(words[0]).name == "env" else words[0])


@pytest.fixture
def aws(control, aws_executable):
    cli = Cli(aws_executable, control.url)
    yield cli
    cli.close()


def tag(resource_type: str, key: str) -> str:
    return f"ResourceType={resource_type},Tags=[{{Key=wlpanel:environment,Value=cli}},{{Key=Name,Value={key}}}]"


def test_seed_walk_through_with_the_aws_cli(control, aws, aws_executable, image_id):
    version = subprocess.run([str(aws_executable), "--version"], capture_output=True, text=True, env=aws.env)
    assert (version.stdout + version.stderr).startswith("aws-cli/1.")

    # 0. discover the zone, opt in (the test sandbox's opt-in delay is 0 s; poll all the same)
    zone = aws(
        "describe-availability-zones", "--all-availability-zones", "--filters", f"Name=zone-name,Values={WL_ZONE}"
    )["AvailabilityZones"][0]
    assert (zone["OptInStatus"], zone["GroupName"]) == ("not-opted-in", WL_GROUP)
    assert aws("modify-availability-zone-group", "--group-name", WL_GROUP, "--opt-in-status", "opted-in")["Return"]
    deadline = time.monotonic() + 10
    while aws("describe-availability-zones", "--zone-names", WL_ZONE)["AvailabilityZones"][0]["OptInStatus"] != (
        "opted-in"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.5)

    # 1-3. VPC, public subnet, internet gateway, route, security groups
    assert "DryRunOperation" in aws.fails("create-vpc", "--cidr-block", "10.0.0.0/16", "--dry-run")
    vpc = aws("create-vpc", "--cidr-block", "10.0.0.0/16", "--tag-specifications", tag("vpc", "vpc"))["Vpc"]["VpcId"]
    public_subnet = aws(
        "create-subnet", "--vpc-id", vpc, "--cidr-block", "10.0.1.0/24", "--availability-zone", zone["ParentZoneName"]
    )["Subnet"]["SubnetId"]
    igw = aws("create-internet-gateway", "--tag-specifications", tag("internet-gateway", "igw"))["InternetGateway"][
        "InternetGatewayId"
    ]
    aws("attach-internet-gateway", "--internet-gateway-id", igw, "--vpc-id", vpc)
    public_rtb = aws("create-route-table", "--vpc-id", vpc)["RouteTable"]["RouteTableId"]
    aws("create-route", "--route-table-id", public_rtb, "--destination-cidr-block", "0.0.0.0/0", "--gateway-id", igw)
    public_assoc = aws("associate-route-table", "--route-table-id", public_rtb, "--subnet-id", public_subnet)[
        "AssociationId"
    ]
    groups = {}
    for name in ("bastion", "wl"):
        groups[name] = aws(
            "create-security-group", "--group-name", name, "--description", name, "--vpc-id", vpc
        )["GroupId"]
        aws("authorize-security-group-ingress", "--group-id", groups[name], "--protocol", "-1", "--cidr", "10.0.0.0/16")

    # 4. bastion; 5-7. Wavelength subnet, carrier gateway, carrier route
    bastion = aws(
        "run-instances", "--image-id", image_id, "--instance-type", "t3.micro", "--count", "1",
        "--subnet-id", public_subnet, "--security-group-ids", groups["bastion"],
    )["Instances"][0]["InstanceId"]  # fmt: skip
    wl_subnet = aws(
        "create-subnet", "--vpc-id", vpc, "--cidr-block", "10.0.0.0/24", "--availability-zone", WL_ZONE
    )["Subnet"]["SubnetId"]
    cagw = aws("create-carrier-gateway", "--vpc-id", vpc, "--client-token", "cli-cagw")["CarrierGateway"][
        "CarrierGatewayId"
    ]
    assert "CarrierGatewayLimitExceeded" in aws.fails("create-carrier-gateway", "--vpc-id", vpc)
    wl_rtb = aws("create-route-table", "--vpc-id", vpc)["RouteTable"]["RouteTableId"]
    aws("create-route", "--route-table-id", wl_rtb, "--destination-cidr-block", "0.0.0.0/0", "--carrier-gateway-id", cagw)
    wl_assoc = aws("associate-route-table", "--route-table-id", wl_rtb, "--subnet-id", wl_subnet)["AssociationId"]

    # 8-9. Wavelength instance (gp2 root), Carrier IP
    instance = aws(
        "run-instances", "--image-id", image_id, "--instance-type", "t3.medium", "--count", "1",
        "--subnet-id", wl_subnet, "--security-group-ids", groups["wl"],
        "--block-device-mappings", "DeviceName=/dev/sda1,Ebs={VolumeType=gp2,VolumeSize=8}",
    )["Instances"][0]  # fmt: skip
    address = aws("allocate-address", "--domain", "vpc", "--network-border-group", WL_ZONE)
    assert "CarrierIp" in address and "PublicIp" not in address
    eip_assoc = aws(
        "associate-address",
        "--allocation-id",
        address["AllocationId"],
        "--network-interface-id",
        instance["NetworkInterfaces"][0]["NetworkInterfaceId"],
    )["AssociationId"]

    # A wrong teardown order is refused, as on AWS.
    assert "DependencyViolation" in aws.fails("delete-vpc", "--vpc-id", vpc)
    assert "DryRunOperation" in aws.fails("delete-vpc", "--vpc-id", vpc, "--dry-run")

    # Teardown, in the order EC2 accepts.
    aws("disassociate-address", "--association-id", eip_assoc)
    assert "InvalidAddress.NotFound" in aws.fails(
        "release-address", "--allocation-id", address["AllocationId"], "--network-border-group", WL_REGION
    )
    aws("release-address", "--allocation-id", address["AllocationId"], "--network-border-group", WL_ZONE)
    aws("terminate-instances", "--instance-ids", instance["InstanceId"], bastion)
    aws("wait", "instance-terminated", "--instance-ids", instance["InstanceId"], bastion)
    for table, association in ((wl_rtb, wl_assoc), (public_rtb, public_assoc)):
        aws("disassociate-route-table", "--association-id", association)
        aws("delete-route", "--route-table-id", table, "--destination-cidr-block", "0.0.0.0/0")
        aws("delete-route-table", "--route-table-id", table)
    deleted = aws("delete-carrier-gateway", "--carrier-gateway-id", cagw)["CarrierGateway"]
    assert deleted["State"] in ("deleting", "deleted")
    aws("detach-internet-gateway", "--internet-gateway-id", igw, "--vpc-id", vpc)
    aws("delete-internet-gateway", "--internet-gateway-id", igw)
    for group in groups.values():
        aws("delete-security-group", "--group-id", group)
    aws("delete-subnet", "--subnet-id", wl_subnet)
    aws("delete-subnet", "--subnet-id", public_subnet)
    aws("delete-vpc", "--vpc-id", vpc)

    assert aws("describe-vpcs", "--filters", f"Name=vpc-id,Values={vpc}")["Vpcs"] == []
    assert aws("describe-carrier-gateways", "--carrier-gateway-ids", cagw)["CarrierGateways"][0]["State"] == "deleted"
    assert control.get("inventory?tag=wlpanel:environment=cli")["items"] == []
