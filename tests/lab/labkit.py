"""Build a product-shaped environment on the sandbox with plain boto3, and talk to the lab.

The environment is what the engine's plan builds with its defaults (environments/provisioning/
plan.py): a VPC, a public subnet with a bastion (public IP) behind an internet gateway, a
Wavelength subnet with an instance behind a carrier gateway and a Carrier IP; both security
groups allow all from the VPC, the Wavelength one also all from anywhere.
"""

import json
import urllib.error
import urllib.request

import boto3

from netmodel.zones import zones_by_name
from tests.conftest import opt_in_and_wait

SFO_ZONE = "us-west-2-wl1-sfo-wlz-1"
CASABLANCA_ZONE = "eu-west-3-wl1-cmn-wlz-1"
STOCK_IMAGE_ID = "ami-12c6146b"
VPC_CIDR = "10.0.0.0/16"


class Control:
    def __init__(self, url: str):
        self.url = url

    def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}/_sandbox/{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, json.load(error)

    def ok(self, method: str, path: str, body: dict | None = None) -> dict:
        status, payload = self.call(method, path, body)
        assert status < 300, (status, payload)
        return payload

    def probe(
        self, vpc_id: str, source: str, mode: str, target: str, port: int = 0, timeout: float = 0.5
    ) -> dict:
        answer = self.ok(
            "POST",
            f"labs/{vpc_id}/probe",
            {"from": source, "mode": mode, "target": target, "port": port, "timeout": timeout},
        )
        assert answer["exit_code"] == 0, answer
        return answer["result"]


def ec2_client(url: str, region: str):
    return boto3.client(
        "ec2",
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
    )


def build_environment(url: str, zone_name: str = SFO_ZONE) -> dict:
    zone = zones_by_name()[zone_name]
    ec2 = ec2_client(url, zone["region"])
    opt_in_and_wait(ec2, zone["group_name"])  # AWS (and the sandbox) opt a group in a while after the call
    built = {"ec2": ec2, "zone": zone_name, "region": zone["region"]}
    vpc = built["vpc"] = ec2.create_vpc(CidrBlock=VPC_CIDR)["Vpc"]["VpcId"]
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone=zone["parent_zone_name"])
    built["public_subnet"] = public["Subnet"]["SubnetId"]
    igw = built["igw"] = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    public_rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=public_rtb, SubnetId=built["public_subnet"])
    for key, extra in (
        ("bastion_sg", []),
        ("wl_sg", [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]),
    ):
        group = built[key] = ec2.create_security_group(GroupName=key, Description=key, VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=group, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": VPC_CIDR}]}, *extra]
        )
    bastion = ec2.run_instances(
        ImageId=STOCK_IMAGE_ID,
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        NetworkInterfaces=[
            {
                "DeviceIndex": 0,
                "SubnetId": built["public_subnet"],
                "Groups": [built["bastion_sg"]],
                "AssociatePublicIpAddress": True,
            }
        ],
    )["Instances"][0]
    built["bastion"] = bastion["InstanceId"]
    wl_subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24", AvailabilityZone=zone_name)
    built["wl_subnet"] = wl_subnet["Subnet"]["SubnetId"]
    cagw = built["cagw"] = ec2.create_carrier_gateway(VpcId=vpc)["CarrierGateway"]["CarrierGatewayId"]
    wl_rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=wl_rtb, DestinationCidrBlock="0.0.0.0/0", CarrierGatewayId=cagw)
    ec2.associate_route_table(RouteTableId=wl_rtb, SubnetId=built["wl_subnet"])
    instance = ec2.run_instances(
        ImageId=STOCK_IMAGE_ID,
        InstanceType="t3.medium",
        MinCount=1,
        MaxCount=1,
        SubnetId=built["wl_subnet"],
        SecurityGroupIds=[built["wl_sg"]],
    )["Instances"][0]
    built["wl_instance"] = instance["InstanceId"]
    address = ec2.allocate_address(Domain="vpc", NetworkBorderGroup=zone_name)
    built["carrier_ip"] = address["CarrierIp"]
    ec2.associate_address(
        AllocationId=address["AllocationId"],
        NetworkInterfaceId=instance["NetworkInterfaces"][0]["NetworkInterfaceId"],
    )
    described = ec2.describe_instances(InstanceIds=[built["bastion"], built["wl_instance"]])
    by_id = {i["InstanceId"]: i for r in described["Reservations"] for i in r["Instances"]}
    built["bastion_ip"] = by_id[built["bastion"]]["PrivateIpAddress"]
    built["bastion_public_ip"] = by_id[built["bastion"]].get("PublicIpAddress", "")
    built["wl_ip"] = by_id[built["wl_instance"]]["PrivateIpAddress"]
    return built
