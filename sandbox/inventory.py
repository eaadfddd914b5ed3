"""Every live EC2 resource carrying a tag, across all accounts and regions of the sandbox.

Tests and the teardown checks use it to prove nothing is left behind: terminated instances,
deleted carrier gateways and released addresses are not live.
"""

from collections.abc import Iterator
from typing import Any

from moto.ec2.models import ec2_backends

TERMINATED = "terminated"


def inventory(tag_key: str, tag_value: str | None = None, account: str | None = None) -> list[dict]:
    """Resources whose tag ``tag_key`` exists (and equals ``tag_value`` when given), in every
    account or in ``account``; each item says its account."""
    items = []
    for backend_account, region, backend in ec2_backends.iter_backends():
        if account is not None and backend_account != account:
            continue
        for kind, resource_id, state in _live_resources(backend):
            tags = dict(backend.tags.get(resource_id, {}))
            if tag_key in tags and (tag_value is None or tags[tag_key] == tag_value):
                items.append(
                    {
                        "type": kind,
                        "id": resource_id,
                        "tags": tags,
                        "state": state,
                        "region": region,
                        "account": backend_account,
                    }
                )
    return items


def _live_resources(backend: Any) -> Iterator[tuple[str, str, str | None]]:
    """(type, id, state) of the resources the engine creates."""
    for vpc in backend.vpcs.values():
        yield "vpc", vpc.id, vpc.state
    for subnets in backend.subnets.values():
        for subnet in subnets.values():
            yield "subnet", subnet.id, subnet.state
    for gateway in backend.internet_gateways.values():
        yield "internet-gateway", gateway.id, "attached" if gateway.vpc else "detached"
    for gateway in backend.carrier_gateways.values():
        if gateway.state != "deleted":
            yield "carrier-gateway", gateway.id, gateway.state
    for route_table in backend.route_tables.values():
        yield "route-table", route_table.id, None
    for groups in backend.groups.values():
        for group in groups.values():
            yield "security-group", group.id, None
    for instance in backend.all_instances():
        if instance.state != TERMINATED:
            yield "instance", instance.id, instance.state
    for volume in backend.volumes.values():
        yield "volume", volume.id, volume.status
    for interface in backend.enis.values():
        yield "network-interface", interface.id, interface.status
    for address in backend.addresses:
        if address.allocation_id:
            yield "elastic-ip", address.allocation_id, "associated" if address.association_id else "allocated"
