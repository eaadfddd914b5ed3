"""Drift refresh: describe every resource again, record what AWS says, find orphans.

Resources AWS no longer knows are `missing`; resources no longer as the plan built them are
`changed`, with the reasons in words (`progress["drift_reasons"]`, and the audit row): instance
state, gateway detached, Carrier IP disassociated or moved, security-group rules removed or
added, routes removed, retargeted, blackholed or added, subnet association gone, network ACL
entries beyond AWS's defaults. Resources tagged with the environment (and installation) that the
database does not know are listed in `Environment.orphans`.
"""

import uuid
from datetime import timedelta

from celery import current_app
from django.db.models import Q
from django.utils import timezone

from audit.choices import Source
from audit.services import record
from aws import client as aws_client
from aws import resources as aws
from clouds.services import account_access
from environments import network_view
from environments.choices import Drift, EnvironmentState, ResourceState
from environments.models import Environment, Resource

REFRESH_TASK = "environments.refresh"
# Environments whose resources should exist: provisioning and destroying ones are the engine's.
REFRESHED_STATES = (EnvironmentState.READY, EnvironmentState.FAILED, EnvironmentState.DESTROY_FAILED)


def _step_params(environment: Environment, key: str) -> dict:
    return next((step["params"] for step in environment.plan.get("steps", []) if step["key"] == key), {})


# The VPC's network ACLs as AWS creates them: allow everything (rule 100), deny the rest (32767).
DEFAULT_ACL_ENTRIES = frozenset(
    (egress, number, "-1", action, "0.0.0.0/0")
    for egress in (False, True)
    for number, action in ((100, "allow"), (32767, "deny"))
)
LEASE_SECONDS = 60  # a refresh holds each resource's step only while it describes that resource


def drift_reasons(resource: Resource, item: dict, params: dict, by_key: dict[str, Resource]) -> list[str]:
    """What in AWS no longer is as the plan built it, in words."""
    reasons = {
        "instance": _instance_changes,
        "internet_gateway": _gateway_changes,
        "carrier_ip": _carrier_ip_changes,
        "security_group": _security_group_changes,
        "route_table": _route_table_changes,
        "vpc": _network_acl_changes,
    }.get(resource.kind)
    return reasons(resource, item, params, by_key) if reasons else []


def _instance_changes(resource, item, params, by_key) -> list[str]:
    state = item["State"]["Name"]
    return [] if state in ("pending", "running") else [f"instance is {state}"]


def _gateway_changes(resource, item, params, by_key) -> list[str]:
    vpc = by_key.get("vpc")
    attached = {attachment.get("VpcId") for attachment in item.get("Attachments", [])}
    return [] if vpc is None or vpc.aws_id in attached else ["not attached to the VPC"]


def _carrier_ip_changes(resource, item, params, by_key) -> list[str]:
    if not item.get("AssociationId"):
        return ["Carrier IP not associated"]
    expected = resource.progress.get("network_interface_id")
    if expected and item.get("NetworkInterfaceId") != expected:
        return [f"Carrier IP associated with {item.get('NetworkInterfaceId')}, not {expected}"]
    return []


def _security_group_changes(resource, item, params, by_key) -> list[str]:
    rules = params.get("Ingress", [])
    missing = aws.security_group_missing_rules(item, rules)
    reasons = [f"rule removed: {permission['IpProtocol']} {permission.get('FromPort', '')}-{permission.get('ToPort', '')}"
               for permission in missing]  # fmt: skip
    reasons += [f"rule added: {protocol} {low}-{high} from {cidr}"
                for protocol, low, high, cidr in aws.security_group_extra_rules(item, rules)]  # fmt: skip
    return reasons


def _route_target(route: dict) -> str:
    return route.get("GatewayId") or route.get("CarrierGatewayId") or route.get("NatGatewayId") or (
        route.get("NetworkInterfaceId") or route.get("InstanceId") or "?"
    )


def _route_table_changes(resource, table, params, by_key) -> list[str]:
    target = by_key.get(params.get("Target", ""))
    subnet = by_key.get(params.get("Subnet", ""))
    destination = params.get("DestinationCidrBlock")
    reasons = []
    routes = {route.get("DestinationCidrBlock"): route for route in table.get("Routes", [])}
    planned = routes.get(destination)
    if target is not None and planned is None:
        reasons.append(f"route {destination} removed")
    elif target is not None and _route_target(planned) != target.aws_id:
        reasons.append(f"route {destination} goes to {_route_target(planned)}, not {target.aws_id}")
    for cidr, route in routes.items():
        if route.get("State") == "blackhole":
            reasons.append(f"route {cidr} is a blackhole (its target is gone)")
        elif cidr != destination and route.get("GatewayId") != "local":
            reasons.append(f"route {cidr} -> {_route_target(route)} added")
    if subnet is not None and not aws.route_table_association(table, subnet.aws_id):
        reasons.append(f"not associated with {subnet.key}")
    return reasons


def _network_acl_changes(resource, vpc, params, by_key) -> list[str]:
    reasons = []
    for acl in vpc.get("NetworkAcls", []):
        entries = {
            (entry.get("Egress"), entry.get("RuleNumber"), entry.get("Protocol"), entry.get("RuleAction"),
             entry.get("CidrBlock") or entry.get("Ipv6CidrBlock"))
            for entry in acl.get("Entries", [])
        }  # fmt: skip
        reasons += [
            f"network ACL {acl.get('NetworkAclId')} {'egress' if egress else 'ingress'} rule {number} {action} "
            f"{protocol} {cidr} {'added' if (egress, number, protocol, action, cidr) in entries else 'removed'}"
            for egress, number, protocol, action, cidr in sorted(entries ^ DEFAULT_ACL_ENTRIES, key=str)
        ]
    return reasons


def _lease(resource: Resource, owner: str) -> bool:
    """Take the step's lease for the time of one describe; False while a worker holds it."""
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    until = now + timedelta(seconds=LEASE_SECONDS)
    return bool(Resource.objects.filter(free, pk=resource.pk).update(lease_owner=owner, lease_until=until))


def environment_describe(environment_id: int, *, correlation_id: str | None = None) -> Environment:
    """Describe every resource of the environment and look for orphans (the `refresh` action).

    Only between operations (a build or teardown describes as it goes), and each resource under
    its step's lease, so a refresh never writes over what a step is doing.
    """
    environment = Environment.objects.get(pk=environment_id)
    if environment.state not in REFRESHED_STATES:
        return environment
    correlation_id = correlation_id or environment.correlation_id
    context = aws_client.CallContext(environment_id=environment.pk, correlation_id=correlation_id)
    ec2 = aws_client.ec2_client(environment.region, context=context, account=account_access(environment.account))
    owner = f"refresh:{uuid.uuid4().hex[:12]}"
    resources = list(environment.resources.exclude(state=ResourceState.DELETED))
    by_key = {resource.key: resource for resource in resources}
    summary: dict[str, list[str]] = {"missing": [], "changed": [], "busy": []}
    reasons: dict[str, list[str]] = {}
    for resource in resources:
        if not resource.aws_id:
            continue
        if not _lease(resource, owner):
            summary["busy"].append(resource.key)
            continue
        try:
            item = aws.describe_or_none(ec2, resource.kind, resource.aws_id)
            params = _step_params(environment, resource.key)
            changes = [] if item is None else drift_reasons(resource, item, params, by_key)
            drift = Drift.MISSING if item is None else (Drift.CHANGED if changes else Drift.NONE)
            progress = {**resource.progress, "drift_reasons": changes}
            Resource.objects.filter(pk=resource.pk, lease_owner=owner).update(
                described=item, described_at=timezone.now(), drift=drift, progress=progress
            )
        finally:
            Resource.objects.filter(pk=resource.pk, lease_owner=owner).update(lease_owner="", lease_until=None)
        if drift:
            summary[drift].append(resource.key)
        if changes:
            reasons[resource.key] = changes
    known = {resource.aws_id for resource in resources if resource.aws_id}
    first = environment.resources.order_by("pk").first()
    tags = aws.environment_tags(first.tags) if first else {aws.ENVIRONMENT_TAG: str(environment.pk)}
    orphans = [
        {"type": found["type"], "id": found["id"], "tags": found["tags"]}
        for found in aws.environment_inventory(ec2, tags)
        if found["id"] not in known and found["type"] not in aws.INSTANCE_PARTS
    ]
    environment.orphans = orphans
    environment.described_at = timezone.now()
    environment.save(update_fields=["orphans", "described_at"])
    network_view.network_view_update(environment_id=environment.pk)
    record(
        actor=None,
        action="environment.refreshed",
        target=environment,
        source=Source.WORKER,
        correlation_id=correlation_id,
        details={**summary, "reasons": reasons, "orphans": [orphan["id"] for orphan in orphans]},
    )
    return environment


def environments_refresh_all() -> int:
    """Beat: queue a refresh of every environment whose resources should exist."""
    environment_ids = list(
        Environment.objects.filter(state__in=REFRESHED_STATES).values_list("pk", flat=True)
    )
    for environment_id in environment_ids:
        current_app.send_task(REFRESH_TASK, args=[environment_id, None])
    return len(environment_ids)
