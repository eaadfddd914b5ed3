"""Drift refresh: describe every resource again, record what AWS says, find orphans.

Resources AWS no longer knows are `missing`; resources whose state no longer does what the plan
built (instance stopped, route or association gone, gateway detached, Carrier IP disassociated,
rules removed) are `changed`. Resources tagged with the environment that the database does not
know are listed in `Environment.orphans`.
"""

from celery import current_app
from django.utils import timezone

from audit.choices import Source
from audit.services import record
from aws import client as aws_client
from aws import resources as aws
from environments.choices import Drift, EnvironmentState, ResourceState
from environments.models import Environment, Resource

REFRESH_TASK = "environments.refresh"
# Environments whose resources should exist: provisioning and destroying ones are the engine's.
REFRESHED_STATES = (EnvironmentState.READY, EnvironmentState.FAILED, EnvironmentState.DESTROY_FAILED)


def _step_params(environment: Environment, key: str) -> dict:
    return next((step["params"] for step in environment.plan.get("steps", []) if step["key"] == key), {})


def drift_of(resource: Resource, item: dict | None, params: dict, by_key: dict[str, Resource]) -> str:
    if item is None:
        return Drift.MISSING
    changed = {
        "instance": lambda: item["State"]["Name"] not in ("pending", "running"),
        "internet_gateway": lambda: not item.get("Attachments"),
        "carrier_ip": lambda: not item.get("AssociationId"),
        "security_group": lambda: bool(aws.security_group_missing_rules(item, params.get("Ingress", []))),
        "route_table": lambda: _route_table_changed(item, params, by_key),
    }.get(resource.kind, lambda: False)
    return Drift.CHANGED if changed() else Drift.NONE


def _route_table_changed(table: dict, params: dict, by_key: dict[str, Resource]) -> bool:
    target = by_key.get(params.get("Target", ""))
    subnet = by_key.get(params.get("Subnet", ""))
    routes = {
        (route.get("DestinationCidrBlock"), route.get("GatewayId") or route.get("CarrierGatewayId"))
        for route in table.get("Routes", [])
    }
    has_route = target is None or (params.get("DestinationCidrBlock"), target.aws_id) in routes
    has_association = subnet is None or bool(aws.route_table_association(table, subnet.aws_id))
    return not (has_route and has_association)


def environment_describe(environment_id: int, *, correlation_id: str | None = None) -> Environment:
    """Describe every resource of the environment and look for orphans (the `refresh` action)."""
    environment = Environment.objects.get(pk=environment_id)
    correlation_id = correlation_id or environment.correlation_id
    context = aws_client.CallContext(environment_id=environment.pk, correlation_id=correlation_id)
    ec2 = aws_client.ec2_client(environment.region, context=context)
    now = timezone.now()
    resources = list(environment.resources.exclude(state=ResourceState.DELETED))
    by_key = {resource.key: resource for resource in resources}
    summary: dict[str, list[str]] = {"missing": [], "changed": []}
    for resource in resources:
        if not resource.aws_id:
            continue
        item = aws.describe_or_none(ec2, resource.kind, resource.aws_id)
        drift = drift_of(resource, item, _step_params(environment, resource.key), by_key)
        Resource.objects.filter(pk=resource.pk).update(described=item, described_at=now, drift=drift)
        if drift:
            summary[drift].append(resource.key)
    known = {resource.aws_id for resource in resources if resource.aws_id}
    first = environment.resources.order_by("pk").first()
    tags = aws.environment_tags(first.tags) if first else {aws.ENVIRONMENT_TAG: str(environment.pk)}
    orphans = [
        {"type": found["type"], "id": found["id"], "tags": found["tags"]}
        for found in aws.environment_inventory(ec2, tags)
        if found["id"] not in known and found["type"] not in aws.INSTANCE_PARTS
    ]
    environment.orphans = orphans
    environment.described_at = now
    environment.save(update_fields=["orphans", "described_at"])
    record(
        actor=None,
        action="environment.refreshed",
        target=environment,
        source=Source.WORKER,
        correlation_id=correlation_id,
        details={**summary, "orphans": [orphan["id"] for orphan in orphans]},
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
