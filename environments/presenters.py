"""What an environment's page and API answer show, computed from rows already loaded: the steps
table, route tables, addresses, drift, the network view (traffic matrix, topology, security tables: netmodel's
pure functions, stored by `network_view` when a description lands) and the fingerprints that key page caches.
Never a call to AWS, and a query count that does not depend on how many resources there are.
"""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from netmodel.network import network_from_described
from netmodel.topology import topology_svg
from netmodel.traffic import matrix_as_dicts, traffic_matrix

from .choices import EnvironmentState, ResourceState
from .models import Environment, Resource

# --- Steps -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    resource: Resource
    title: str
    calls: tuple[str, ...]
    duration: timedelta | None

    @property
    def key(self) -> str:
        return self.resource.key


def environment_steps(environment: Environment, resources: list[Resource]) -> list[Step]:
    """Resources in plan order with their title, AWS calls and how long their work took (so far)."""
    planned = {step["key"]: step for step in environment.plan.get("steps", [])}
    order = {key: index for index, key in enumerate(planned)}
    now = timezone.now()
    steps = []
    for resource in sorted(resources, key=lambda r: (order.get(r.key, len(order)), r.id)):
        plan_step = planned.get(resource.key, {})
        # started_at marks the current operation (build, retry or teardown); create_started_at is the engine's own.
        started = resource.started_at or resource.create_started_at
        duration = None
        if started is not None:
            duration = (resource.finished_at or now) - started
        steps.append(
            Step(
                resource=resource,
                title=plan_step.get("title", resource.key),
                calls=tuple(plan_step.get("calls", ())),
                duration=duration,
            )
        )
    return steps


TEARDOWN_STATES = frozenset({EnvironmentState.DESTROYING, EnvironmentState.DESTROYED, EnvironmentState.DESTROY_FAILED})
# Shown as history: what the environment was, never as something that can be reached or used.
HISTORY_STATES = frozenset({EnvironmentState.DESTROYING, EnvironmentState.DESTROYED})
GONE = "gone"  # a destroyed environment's resources: an inventory by tag found nothing left


def is_history(environment: Environment) -> bool:
    return environment.state in HISTORY_STATES


def resource_state(environment: Environment, resource: Resource) -> str:
    """The resource's state as answers show it: `gone` once the environment is destroyed."""
    return GONE if environment.state == EnvironmentState.DESTROYED else resource.state


HISTORY_TRAFFIC = {
    "items": [],
    "pairs": [],
    "pending": [],
    "described_at": None,
    "svg": "",
    "fingerprint": "history",
    "history": True,
}


def steps_summary(environment: Environment, steps: list[Step]) -> dict:
    """Progress of the operation in flight: resources created while building, removed while tearing down."""
    teardown = environment.state in TEARDOWN_STATES
    finished = ResourceState.DELETED if teardown else ResourceState.READY
    done = sum(1 for step in steps if step.resource.state == finished)
    failed = sum(1 for step in steps if step.resource.state == ResourceState.FAILED)
    total = len(steps)
    return {
        "done": done,
        "failed": failed,
        "total": total,
        "percent": int(100 * done / total) if total else 0,
        "label": "resources removed" if teardown else "steps done",
    }


# --- Route tables --------------------------------------------------------------------------------

ROUTE_TARGETS = (
    # (boto3 route key, label); GatewayId "local" and "igw-…" are told apart below.
    ("CarrierGatewayId", "carrier gateway"),
    ("NatGatewayId", "NAT gateway"),
    ("TransitGatewayId", "transit gateway"),
    ("VpcPeeringConnectionId", "VPC peering"),
    ("NetworkInterfaceId", "network interface"),
    ("InstanceId", "instance"),
    ("LocalGatewayId", "local gateway"),
    ("EgressOnlyInternetGatewayId", "egress-only internet gateway"),
)


def route_target(route: dict) -> tuple[str, str]:
    """(kind label, AWS id) of one boto3 `Routes` item's target."""
    gateway = route.get("GatewayId", "")
    if gateway == "local":
        return "local", "local"
    if gateway.startswith("igw-"):
        return "internet gateway", gateway
    for field, label in ROUTE_TARGETS:
        if route.get(field):
            return label, route[field]
    if gateway:
        return "gateway", gateway
    return "unknown", ""


def route_tables(resources: list[Resource], plan: dict) -> list[dict]:
    """Each route table with the subnets it serves and every route, as AWS last described it.

    A table not described yet shows the route the plan will create, marked as planned.
    """
    planned = {step["key"]: step.get("params", {}) for step in plan.get("steps", [])}
    subnets_by_id = {r.aws_id: r for r in resources if r.kind == "subnet" and r.aws_id}
    subnets_by_key = {r.key: r for r in resources if r.kind == "subnet"}
    tables = []
    for resource in resources:
        if resource.kind != "route_table":
            continue
        described = resource.described or {}
        routes = [
            {
                "destination": route.get("DestinationCidrBlock")
                or route.get("DestinationIpv6CidrBlock")
                or route.get("DestinationPrefixListId", ""),
                "target_kind": route_target(route)[0],
                "target_id": route_target(route)[1],
                # A deleted table's routes are history, whatever AWS said while it existed.
                "state": "deleted" if resource.state == ResourceState.DELETED else route.get("State", ""),
                "planned": False,
            }
            for route in described.get("Routes", [])
        ]
        subnets = []
        for association in described.get("Associations", []):
            subnet = subnets_by_id.get(association.get("SubnetId", ""))
            if association.get("Main"):
                subnets.append({"label": "main (VPC default)", "aws_id": ""})
            elif association.get("SubnetId"):
                label = subnet.key.replace("_", " ") if subnet else "subnet"
                subnets.append({"label": label, "aws_id": association["SubnetId"]})
        if not described:
            params = planned.get(resource.key)
            if params:
                routes = [
                    {"destination": plan.get("spec", {}).get("vpc_cidr", "VPC"), "target_kind": "local", "target_id": "local", "state": "", "planned": True},
                    {
                        "destination": params.get("DestinationCidrBlock", ""),
                        "target_kind": params.get("Target", "").replace("_", " "),
                        "target_id": "",
                        "state": "",
                        "planned": True,
                    },
                ]
                subnet = subnets_by_key.get(params.get("Subnet", ""))
                subnets = [{"label": params.get("Subnet", "").replace("_", " "), "aws_id": subnet.aws_id if subnet else ""}]
        tables.append(
            {
                "key": resource.key,
                "aws_id": described.get("RouteTableId") or resource.aws_id,
                "subnets": subnets,
                "routes": routes,
                "described_at": resource.described_at,
                "drift": resource.drift,
            }
        )
    return tables


def environment_addresses(resources: list[Resource], environment: Environment | None = None) -> dict:
    """The addresses AWS described for the environment's bastion, instance and Carrier IP (only
    resources that still exist: a deleted one's last description is history, not an address).

    Nothing once it is being destroyed: a Carrier IP of a gone instance would mislead. How to
    connect, when it can work, is `connect.environment_connection`.
    """
    if environment is not None and is_history(environment):
        return {}
    described = {r.key: r.described or {} for r in resources if r.state != ResourceState.DELETED and r.aws_id}
    bastion, instance, carrier_ip = described.get("bastion", {}), described.get("wavelength_instance", {}), described.get("carrier_ip", {})
    addresses = {
        "bastion_public_ip": bastion.get("PublicIpAddress", ""),
        "bastion_private_ip": bastion.get("PrivateIpAddress", ""),
        "bastion_state": (bastion.get("State") or {}).get("Name", ""),
        "instance_private_ip": instance.get("PrivateIpAddress", ""),
        "instance_state": (instance.get("State") or {}).get("Name", ""),
        "carrier_ip": carrier_ip.get("CarrierIp", ""),
    }
    return addresses if any(addresses.values()) else {}


def drifted(resources: list[Resource]) -> list[Resource]:
    return [r for r in resources if r.drift]


# --- Traffic matrix and topology (pure functions of the cached descriptions) ----------------------


def zone_as_dict(zone) -> dict:
    return {
        "name": zone.name,
        "region": zone.region,
        "group_name": zone.group_name,
        "parent_zone_name": zone.parent_zone_name,
        "carrier": zone.carrier,
        "metro": zone.metro,
        "zone_type": "wavelength-zone",
    }


def description_version(environment: Environment, resources: list[Resource]) -> str:
    """A digest of what the network view is computed from: the zone and each resource's key, kind,
    AWS id and description time. A stored view of another version is stale."""
    zone = zone_as_dict(environment.zone)
    described = [(r.key, r.kind, r.aws_id, r.described_at) for r in resources]
    return hashlib.sha256(repr((sorted(zone.items()), described)).encode()).hexdigest()


def network_view(environment: Environment, resources: list[Resource]) -> dict:
    """{"traffic": {"items", "pairs", "pending"}, "svg", "security", "described_at"}: what the detail
    page shows from the resources as last described (netmodel's pure functions; one parse of the
    descriptions for the matrix, the diagram and the security tables). Plain JSON-able data."""
    network = network_from_described(
        zone_as_dict(environment.zone),
        [{"key": r.key, "kind": r.kind, "aws_id": r.aws_id, "described": r.described} for r in resources],
    )
    matrix = traffic_matrix(network)
    items = matrix_as_dicts(matrix)
    described_times = [r.described_at for r in resources if r.described_at]
    return {
        "traffic": {
            "items": items,
            # Resources not described yet (a build in progress): a "denied" may only mean "not yet".
            "pending": sorted(network.pending),
            "pairs": traffic_pairs(items),
        },
        "svg": topology_svg(network, matrix=matrix),
        "security": security_tables(network, resources),
        "described_at": max(described_times) if described_times else None,
    }


def current_minute() -> int:
    return int(timezone.now().timestamp() // 60)


def described_fingerprint(environment: Environment, resources: list[Resource], traffic: dict) -> str:
    """Changes when what the detail page shows from AWS descriptions may have: a resource described,
    created or drifted, the orphans, the traffic matrix (whose fingerprint covers the zone), or the
    minute (the part says "described 3 minutes ago")."""
    shown = [(r.key, r.state, r.aws_id, r.described_at, r.drift) for r in resources]
    parts = (environment.plan_hash, environment.described_at, environment.orphans, traffic["fingerprint"], shown)
    return hashlib.sha256(repr((parts, current_minute())).encode()).hexdigest()[:16]


def traffic_pairs(items: list[dict]) -> list[dict]:
    """The matrix as a table: one row per (source, destination), one cell per protocol, and one
    "why" per row: each rule that decided once, named with its protocols when not all of them."""
    pairs: dict[tuple[str, str], dict] = {}
    for item in items:
        pair = pairs.setdefault(
            (item["source"], item["destination"]),
            {"source": item["source"], "destination": item["destination"], "cells": []},
        )
        pair["cells"].append(item)
    for pair in pairs.values():
        pair["reasons"] = _row_reasons(pair["cells"])
    return list(pairs.values())


def _row_reasons(cells: list[dict]) -> list[str]:
    protocols_of: dict[str, list[str]] = {}
    for cell in cells:
        for reason in cell.get("reasons") or ():
            protocols_of.setdefault(reason, []).append(cell["protocol"].upper())
    everyone = len(cells)
    return [
        reason if len(protocols) == everyone else f"{'/'.join(protocols)}: {reason}"
        for reason, protocols in protocols_of.items()
    ]


# --- Security rules and resources as tables (what the AWS console shows, from the descriptions) ---


def security_tables(network, resources: list[Resource]) -> dict:
    """{"groups": [{aws_id, name, key, ingress, egress}], "acls": [{aws_id, default, subnets, entries}],
    "resources": [{key, kind, aws_id, tags}]} from the described network: the security groups' rules
    and the network ACLs' entries as tables, and each resource with its tags."""
    keys = {r.aws_id: r.key for r in resources if r.aws_id}

    def rules(items):
        return [
            {
                "protocol": "all" if rule.protocol == "all" else rule.protocol,
                "ports": str(rule.ports) if rule.protocol in ("tcp", "udp") else "all",
                "peer": rule.cidr or rule.group_id or "",
                "description": rule.description,
            }
            for rule in items
        ]

    groups = [
        {"aws_id": g.group_id, "name": g.name, "key": keys.get(g.group_id, ""), "ingress": rules(g.ingress), "egress": rules(g.egress)}
        for g in network.security_groups
    ]
    acls = [
        {
            "aws_id": acl.acl_id,
            "default": acl.is_default,
            "subnets": list(acl.subnet_ids),
            "entries": [
                {
                    "number": entry.number_label,
                    "direction": "outbound" if entry.egress else "inbound",
                    "protocol": entry.protocol,
                    "ports": str(entry.ports) if entry.protocol in ("tcp", "udp") else "all",
                    "cidr": entry.cidr,
                    "action": "allow" if entry.allow else "deny",
                }
                for entry in sorted(acl.entries, key=lambda e: (e.egress, e.rule_number))
            ],
        }
        for acl in network.network_acls
    ]
    tagged = [
        {"key": r.key, "kind": r.get_kind_display(), "aws_id": r.aws_id, "tags": sorted((r.tags or {}).items())}
        for r in resources
        if r.aws_id
    ]
    return {"groups": groups, "acls": acls, "resources": tagged}
