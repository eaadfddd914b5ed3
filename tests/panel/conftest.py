"""Helpers for the panel's tests: requests and environments made through the services, with the
engine not running (environments stay `provisioning`), and resources described by hand."""

import pytest
from django.utils import timezone

from audit.choices import Source
from tests.conftest import origin_of


@pytest.fixture(autouse=True)
def published_tasks(monkeypatch):
    """Record what the services publish for the engine instead of sending it to a broker."""
    sent = []
    monkeypatch.setattr("environments.services.current_app.send_task", lambda name, args=None, **kw: sent.append((name, args)))
    return sent


@pytest.fixture
def make_request(team, zone):
    from environments import services

    def make(user, *, name="edge-1", source=Source.WEB, **fields):
        fields.setdefault("instance_type", "t3.medium")
        return services.environment_request_create(
            origin=origin_of(user, source), team=fields.pop("team", team), zone=fields.pop("zone", zone), name=name, **fields
        )

    return make


@pytest.fixture
def make_environment(make_request, bob):
    """An approved environment (alice's request approved by bob), still provisioning."""
    from environments import services

    def make(requester, *, name="edge-1", approver=None, **fields):
        request = make_request(requester, name=name, **fields)
        return services.environment_request_approve(
            origin=origin_of(approver or bob), request_id=request.pk, plan_hash=request.plan_hash
        )

    return make


def describe_route_tables(environment):
    """Fill in what DescribeRouteTables/DescribeSubnets would have said, as the engine stores it."""
    resources = {r.key: r for r in environment.resources.all()}
    now = timezone.now()
    ids = {
        "vpc": "vpc-0a1b2c3d",
        "public_subnet": "subnet-0public",
        "wavelength_subnet": "subnet-0wavelength",
        "internet_gateway": "igw-0abc",
        "carrier_gateway": "cagw-0abc",
        "public_route_table": "rtb-0public",
        "wavelength_route_table": "rtb-0wavelength",
    }
    for key, aws_id in ids.items():
        if key in resources:
            resources[key].aws_id = aws_id
            resources[key].state = "ready"
            resources[key].save()
    for key, target in (("public_route_table", {"GatewayId": "igw-0abc"}), ("wavelength_route_table", {"CarrierGatewayId": "cagw-0abc"})):
        subnet = "subnet-0public" if key.startswith("public") else "subnet-0wavelength"
        resource = resources[key]
        resource.described = {
            "RouteTableId": ids[key],
            "VpcId": "vpc-0a1b2c3d",
            "Routes": [
                {"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local", "State": "active", "Origin": "CreateRouteTable"},
                {"DestinationCidrBlock": "0.0.0.0/0", "State": "active", "Origin": "CreateRoute", **target},
            ],
            "Associations": [{"RouteTableAssociationId": f"rtbassoc-{key}", "RouteTableId": ids[key], "SubnetId": subnet, "Main": False}],
        }
        resource.described_at = now
        resource.save()


def describe_instances(environment):
    """What DescribeInstances/DescribeAddresses would have said about the instances and the Carrier IP."""
    now = timezone.now()
    items = {
        "bastion": {"InstanceId": "i-0bastion", "PrivateIpAddress": "10.0.1.10", "PublicIpAddress": "203.0.113.10", "State": {"Name": "running"}},
        "wavelength_instance": {"InstanceId": "i-0wavelength", "PrivateIpAddress": "10.0.0.20", "State": {"Name": "running"}},
        "carrier_ip": {"AllocationId": "eipalloc-0abc", "CarrierIp": "155.146.1.2", "NetworkBorderGroup": environment.zone.name},
    }
    for key, item in items.items():
        aws_id = item.get("InstanceId") or item["AllocationId"]
        environment.resources.filter(key=key).update(aws_id=aws_id, described=item, described_at=now, state="ready")
