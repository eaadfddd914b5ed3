"""What the sandbox holds about one VPC, as the panel's network model (``netmodel.network``).

The lab is wired from the same Describe* answers a client would get: the describe calls go to
moto in-process (not through the sandbox's middleware, so no fault, latency or call-log entry)
and botocore parses them, then ``network_from_described`` turns them into plain data.
"""

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.awsrequest import AWSResponse
from moto.ec2.models import ec2_backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import Client

from netmodel.network import Network, network_from_described
from sandbox.zones import zones_by_name

IN_PROCESS_ENDPOINT = "http://sandbox-lab.invalid"
_app = DomainDispatcherApplication(create_backend_app)


class _RawBody:
    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def vpc_location(vpc_id: str) -> tuple[str, str] | None:
    """(account, region) of the VPC, or None when no backend holds it."""
    for account, region, backend in ec2_backends.iter_backends():
        if vpc_id in backend.vpcs:
            return account, region
    return None


def ec2_in_process(account: str, region: str):
    """A boto3 EC2 client whose calls moto answers in this process, bypassing the middleware."""
    client = boto3.client(
        "ec2",
        region_name=region,
        endpoint_url=IN_PROCESS_ENDPOINT,
        aws_access_key_id="sandbox-lab",
        aws_secret_access_key="sandbox-lab",
    )
    werkzeug_client = Client(_app)

    def send(request: Any, **_: Any) -> AWSResponse:
        parts = urlsplit(request.url)
        headers = {
            name: value.decode() if isinstance(value, bytes) else value
            for name, value in request.headers.items()
        }
        body = request.body.encode() if isinstance(request.body, str) else request.body
        headers["x-moto-account-id"] = account
        answer = werkzeug_client.open(
            path=parts.path or "/",
            query_string=parts.query,
            method=request.method,
            headers=headers,
            data=body,
        )
        return AWSResponse(request.url, answer.status_code, dict(answer.headers), _RawBody(answer.get_data()))

    client.meta.events.register("before-send", send)
    return client


def describe_vpc_network(vpc_id: str) -> tuple[Network, dict] | None:
    """The VPC's network and where it is ({"account", "region", "zone"}); None if it is gone.

    The environment's zone is the Wavelength Zone of its subnets (the first one found).
    """
    location = vpc_location(vpc_id)
    if location is None:
        return None
    account, region = location
    ec2 = ec2_in_process(account, region)
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    vpc = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    vpc["NetworkAcls"] = ec2.describe_network_acls(Filters=in_vpc)["NetworkAcls"]
    subnets = ec2.describe_subnets(Filters=in_vpc)["Subnets"]
    instances = [
        instance
        for reservation in ec2.describe_instances(Filters=in_vpc)["Reservations"]
        for instance in reservation["Instances"]
        if instance["State"]["Name"] != "terminated"
    ]
    interfaces = {
        interface["NetworkInterfaceId"]
        for instance in instances
        for interface in instance.get("NetworkInterfaces", [])
    }
    resources = [{"key": "vpc", "kind": "vpc", "described": vpc}]
    resources += [{"key": s["SubnetId"], "kind": "subnet", "described": s} for s in subnets]
    resources += [
        {"key": t["RouteTableId"], "kind": "route_table", "described": t}
        for t in ec2.describe_route_tables(Filters=in_vpc)["RouteTables"]
    ]
    resources += [
        {"key": g["GroupId"], "kind": "security_group", "described": g}
        for g in ec2.describe_security_groups(Filters=in_vpc)["SecurityGroups"]
    ]
    resources += [{"key": i["InstanceId"], "kind": "instance", "described": i} for i in instances]
    resources += [
        {"key": g["InternetGatewayId"], "kind": "internet_gateway", "described": g}
        for g in ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])[
            "InternetGateways"
        ]
    ]
    resources += [
        {"key": g["CarrierGatewayId"], "kind": "carrier_gateway", "described": g}
        for g in ec2.describe_carrier_gateways(Filters=in_vpc)["CarrierGateways"]
        if g.get("State") != "deleted"
    ]
    resources += [
        {"key": a.get("AllocationId", ""), "kind": "carrier_ip", "described": a}
        for a in ec2.describe_addresses()["Addresses"]
        if a.get("CarrierIp") and a.get("NetworkInterfaceId") in interfaces
    ]
    zone_name = next((s["AvailabilityZone"] for s in subnets if "-wlz-" in s["AvailabilityZone"]), "")
    zone = dict(zones_by_name().get(zone_name, {}))
    zone.setdefault("name", zone_name)
    zone.setdefault("region", region)
    return network_from_described(zone, resources), {"account": account, "region": region, "zone": zone_name}
