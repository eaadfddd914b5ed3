"""Step executors: build and teardown of one plan step, per resource kind.

An executor runs outside any database transaction with the step's lease held. It may be
interrupted anywhere (SIGKILL, lost answer) and run again, so it always starts from what is
recorded (`aws_id`, `progress`) and from what AWS says, never from what it meant to do:

- a create that carries a ClientToken is simply repeated with the same token;
- a tag-adopted create records `create_started_at` before the call; if a run finds that mark
  without an `aws_id`, the outcome is unknown and it looks the resource up by its tags, waiting
  out the eventual-consistency grace window before it would ever create a second one;
- untaggable actions (attach, route, associate, rules) are describe-then-act.

An executor returns `Done` or `Wait`; AWS errors propagate to the engine, which classifies them.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from audit.choices import Source
from audit.services import record
from aws import resources as aws
from aws.client import ClientError
from aws.errors import Action, classify, created_nothing, error_code, is_duplicate
from environments.models import Environment, Resource

from .plan import INSTALLATION_TAG, TOKEN_KINDS, client_token


@dataclass(frozen=True)
class Done:
    """The step is finished; `described` is what AWS says about the resource (None once deleted)."""

    described: dict | None = None


@dataclass(frozen=True)
class Wait:
    """Come back in `seconds` (instance pending, terminating, create outcome not visible yet)."""

    seconds: float
    reason: str
    described: dict | None = None


class StepFailed(Exception):
    """A permanent failure that is not an AWS error (e.g. the instance terminated by itself)."""

    def __init__(self, message: str, code: str = "StepFailed"):
        super().__init__(message)
        self.code = code


@dataclass
class StepContext:
    resource: Resource
    environment: Environment
    deps: dict[str, Resource]
    params: dict
    ec2: Any
    ssm_factory: Callable[[], Any]
    checkpoint: Callable[..., None]  # persist resource fields now, under the lease
    poll_seconds: float
    grace_seconds: float
    wait_limit_seconds: float = 900.0  # an instance pending or shutting down longer has a problem
    created_now: bool = field(default=False)  # this run created the resource: its state is known
    create_attempted_at: datetime | None = None

    def recently_created(self) -> bool:
        """Whether a NotFound may just be AWS catching up: this step or one it uses was created lately."""
        moments = [self.create_attempted_at, self.resource.create_started_at]
        moments += [dep.create_started_at for dep in self.deps.values()]
        return any(self.within_grace(moment) for moment in moments)

    @property
    def kind(self) -> str:
        return self.resource.kind

    @property
    def tags(self) -> dict:
        return self.resource.tags

    def dep_id(self, key: str) -> str:
        return self.deps[key].aws_id

    def within_grace(self, since: datetime | None) -> bool:
        return since is not None and timezone.now() - since < timedelta(seconds=self.grace_seconds)

    def save_progress(self, **progress) -> None:
        self.resource.progress.update(progress)
        self.checkpoint(progress=self.resource.progress)

    def waited_too_long(self, state: str) -> float | None:
        """Seconds spent in `state` this operation, once beyond `wait_limit_seconds` (None before)."""
        since = self.resource.progress.get("waiting_since", {})
        if state not in since:
            self.save_progress(waiting_since={state: timezone.now().isoformat()})
            return None
        waited = (timezone.now() - datetime.fromisoformat(since[state])).total_seconds()
        return waited if waited > self.wait_limit_seconds else None


class CreatePending(Exception):
    """A create's outcome is unknown and the tag lookup is empty: wait, never create twice."""


# --- Shared: create once, find after -----------------------------------------------------------


def adopt_by_tags(ctx: StepContext) -> str:
    """The one resource carrying the step's tags, recorded as the step's ("" when there is none).

    More than one means creates happened that the engine never saw answered: it keeps one (the
    lowest id, so concurrent looks agree) and deletes the others, audited.
    """
    found = sorted(aws.find_by_tags(ctx.ec2, ctx.kind, ctx.tags), key=lambda item: aws.item_id(ctx.kind, item))
    if not found:
        return ""
    kept = aws.item_id(ctx.kind, found[0])
    ctx.checkpoint(aws_id=kept)
    extras = [aws.item_id(ctx.kind, item) for item in found[1:]]
    for item in found[1:]:
        aws.inventory_remove(ctx.ec2, {"type": ctx.kind, "id": aws.item_id(ctx.kind, item), "item": item})
    if extras:
        record(
            actor=None,
            action="resource.duplicates_deleted",
            target=None,
            source=Source.WORKER,
            target_repr=f"{ctx.environment} {ctx.resource.key}",
            environment_id=ctx.environment.pk,
            correlation_id=ctx.environment.correlation_id,
            details={"step": ctx.resource.key, "kept": kept, "deleted": extras},
        )
    return kept


def ensure_created(ctx: StepContext, create: Callable[[], str]) -> str:
    """The resource's id: recorded, adopted by tag after an unknown outcome, or created now."""
    resource = ctx.resource
    if resource.aws_id:
        return resource.aws_id
    uses_token = resource.kind in TOKEN_KINDS
    if resource.create_started_at is not None:
        # An earlier create's outcome is unknown: what carries the step's tags is the answer.
        found = adopt_by_tags(ctx)
        if found:
            return found
        # Without a ClientToken a second create could be a second resource: wait out AWS's lag.
        if not uses_token and ctx.within_grace(resource.create_started_at):
            raise CreatePending(f"waiting to see whether the earlier create of {resource.key} happened")
    ctx.create_attempted_at = timezone.now()
    ctx.checkpoint(create_started_at=ctx.create_attempted_at)
    try:
        aws_id = create()
    except Exception as exc:
        # "Already exists" after an earlier create whose answer was lost: that one is ours.
        found = adopt_by_tags(ctx) if is_duplicate(exc) else ""
        if found:
            return found
        if created_nothing(exc):
            ctx.checkpoint(create_started_at=None)
        raise
    # AWS's lag runs from its answer, not from the call: a create that waited for the rate limiter
    # or retried for seconds must not have its grace window spent before the resource exists.
    ctx.create_attempted_at = timezone.now()
    ctx.checkpoint(aws_id=aws_id, create_started_at=ctx.create_attempted_at)
    ctx.created_now = True
    return aws_id


def find_for_teardown(ctx: StepContext) -> str:
    """The id to delete, or "" when the step never created anything."""
    resource = ctx.resource
    if resource.aws_id:
        return resource.aws_id
    if resource.create_started_at is None:
        return ""  # the create was never issued
    found = adopt_by_tags(ctx)
    if found:
        return found
    if ctx.within_grace(resource.create_started_at):
        raise CreatePending(f"waiting to see whether the create of {resource.key} happened before deleting")
    return ""


# --- Build ---------------------------------------------------------------------------------------


def build_vpc(ctx: StepContext) -> Done | Wait:
    vpc_id = ensure_created(ctx, lambda: aws.vpc_create(ctx.ec2, cidr=ctx.params["CidrBlock"], tags=ctx.tags))
    vpc = aws.describe(ctx.ec2, "vpc", vpc_id)
    if vpc.get("State") == "pending":
        return Wait(ctx.poll_seconds, "VPC pending", vpc)
    return Done(vpc)


def build_subnet(ctx: StepContext) -> Done | Wait:
    subnet_id = ensure_created(
        ctx,
        lambda: aws.subnet_create(
            ctx.ec2,
            vpc_id=ctx.dep_id("vpc"),
            cidr=ctx.params["CidrBlock"],
            zone=ctx.params["AvailabilityZone"],
            tags=ctx.tags,
        ),
    )
    subnet = aws.describe(ctx.ec2, "subnet", subnet_id)
    if subnet.get("State") == "pending":
        return Wait(ctx.poll_seconds, "subnet pending", subnet)
    return Done(subnet)


def build_internet_gateway(ctx: StepContext) -> Done | Wait:
    gateway_id = ensure_created(ctx, lambda: aws.internet_gateway_create(ctx.ec2, tags=ctx.tags))
    vpc_id = ctx.dep_id("vpc")
    gateway = (
        {"InternetGatewayId": gateway_id}
        if ctx.created_now
        else aws.describe(ctx.ec2, "internet_gateway", gateway_id)
    )
    aws.internet_gateway_attach(ctx.ec2, gateway, vpc_id)
    ctx.save_progress(attached_to=vpc_id)
    return Done(aws.describe(ctx.ec2, "internet_gateway", gateway_id))


def build_carrier_gateway(ctx: StepContext) -> Done | Wait:
    gateway_id = ensure_created(
        ctx,
        lambda: aws.carrier_gateway_create(
            ctx.ec2, vpc_id=ctx.dep_id("vpc"), token=ctx.resource.client_token, tags=ctx.tags
        ),
    )
    gateway = aws.describe(ctx.ec2, "carrier_gateway", gateway_id)
    if gateway.get("State") == "pending":
        return Wait(ctx.poll_seconds, "carrier gateway pending", gateway)
    return Done(gateway)


def build_route_table(ctx: StepContext) -> Done | Wait:
    table_id = ensure_created(
        ctx,
        lambda: aws.route_table_create(
            ctx.ec2, vpc_id=ctx.dep_id("vpc"), token=ctx.resource.client_token, tags=ctx.tags
        ),
    )
    fresh = {"RouteTableId": table_id, "Routes": [], "Associations": []}
    table = fresh if ctx.created_now else aws.describe(ctx.ec2, "route_table", table_id)
    target_key = ctx.params["Target"]
    if aws.route_ensure(
        ctx.ec2,
        table,
        destination=ctx.params["DestinationCidrBlock"],
        target_kind=ctx.deps[target_key].kind,
        target_id=ctx.dep_id(target_key),
    ):
        ctx.save_progress(route=f"{ctx.params['DestinationCidrBlock']} -> {ctx.dep_id(target_key)}")
    association_id = aws.route_table_associate(ctx.ec2, table, ctx.dep_id(ctx.params["Subnet"]))
    ctx.save_progress(association_id=association_id)
    return Done(aws.describe(ctx.ec2, "route_table", table_id))


def build_security_group(ctx: StepContext) -> Done | Wait:
    group_id = ensure_created(
        ctx,
        lambda: aws.security_group_create(
            ctx.ec2,
            vpc_id=ctx.dep_id("vpc"),
            name=ctx.tags["Name"],
            description=f"wlpanel {ctx.environment.name} {ctx.resource.key}",
            tags=ctx.tags,
        ),
    )
    group = {"GroupId": group_id} if ctx.created_now else aws.describe(ctx.ec2, "security_group", group_id)
    added = aws.security_group_rules_ensure(ctx.ec2, group, ctx.params["Ingress"])
    ctx.save_progress(rules=len(ctx.params["Ingress"]), rules_added=added)
    return Done(aws.describe(ctx.ec2, "security_group", group_id))


# The region's current AMI and its root device change rarely: kept per process for a while, so
# a hundred builds do not ask SSM and EC2 two hundred times.
IMAGE_CACHE_SECONDS = 600
_image_cache: dict[tuple, tuple[float, Any]] = {}


def _cached(key: tuple, compute: Callable[[], Any]) -> Any:
    now = time.monotonic()
    hit = _image_cache.get(key)
    if hit is None or now - hit[0] > IMAGE_CACHE_SECONDS:
        hit = (now, compute())
        _image_cache[key] = hit
    return hit[1]


def _image_id(ctx: StepContext, image: str) -> str:
    return _cached(
        ("image", ctx.environment.region, image), lambda: aws.image_resolve(ctx.ssm_factory(), image)
    )


def _root_device(ctx: StepContext, image_id: str) -> tuple[str, int]:
    return _cached(
        ("root", ctx.environment.region, image_id), lambda: aws.image_root_device(ctx.ec2, image_id)
    )


def _instance_spec(ctx: StepContext) -> aws.InstanceSpec:
    params = ctx.params
    image_id = ctx.resource.progress.get("image_id")
    if not image_id:
        image_id = _image_id(ctx, params["ImageId"])
        ctx.save_progress(image_id=image_id)
    root_volume = None
    if params.get("RootVolumeType"):
        device, size = _root_device(ctx, image_id)
        root_volume = (device, size, params["RootVolumeType"])
    security_group = next(dep for dep in ctx.deps.values() if dep.kind == "security_group")
    return aws.InstanceSpec(
        image_id=image_id,
        instance_type=params["InstanceType"],
        subnet_id=ctx.dep_id(params["Subnet"]),
        security_group_id=security_group.aws_id,
        public_ip=bool(params.get("AssociatePublicIpAddress")),
        key_name=params.get("KeyName") or "",
        root_volume=root_volume,
        instance_profile=params.get("InstanceProfile") or "",
    )


def _forget_dead_instance(ctx: StepContext) -> None:
    """Launch anew: the recorded instance is gone, and its ClientToken would only return it again."""
    progress = ctx.resource.progress
    generation = progress.get("token_generation", 1) + 1
    installation = ctx.tags.get(INSTALLATION_TAG, "")
    progress.update(token_generation=generation, replaced=[*progress.get("replaced", []), ctx.resource.aws_id])
    progress.pop("dead_instance", None)
    ctx.checkpoint(
        aws_id="",
        create_started_at=None,
        client_token=client_token(installation, ctx.environment.pk, ctx.resource.key, generation),
        progress=progress,
    )


def build_instance(ctx: StepContext) -> Done | Wait:
    def launch() -> str:
        return aws.instance_run(ctx.ec2, _instance_spec(ctx), token=ctx.resource.client_token, tags=ctx.tags)

    instance_id = ensure_created(ctx, launch)
    instance = aws.describe(ctx.ec2, "instance", instance_id)
    state = instance["State"]["Name"]
    if state in ("shutting-down", "terminated"):
        dead = ctx.resource.progress.get("dead_instance", {})
        if dead.get("id") == instance_id and dead.get("operation") != ctx.resource.progress.get("operation"):
            # A Retry after the instance died (terminated behind the panel, or by AWS): a new one.
            _forget_dead_instance(ctx)
            instance_id = ensure_created(ctx, launch)
            instance = aws.describe(ctx.ec2, "instance", instance_id)
            state = instance["State"]["Name"]
        else:
            ctx.save_progress(dead_instance={"id": instance_id, "operation": ctx.resource.progress.get("operation")})
            reason = instance.get("StateReason", {}).get("Message", "")
            raise StepFailed(
                f"The instance {instance_id} is {state}{': ' + reason if reason else ''}. Retry launches a new one.",
                "InstanceNotRunning",
            )
    if state == "running":
        return Done(instance)
    if state == "pending":
        waited = ctx.waited_too_long("pending")
        if waited is not None:
            raise StepFailed(
                f"The instance {instance_id} has been pending for {waited / 60:.0f} min; AWS has not started it. "
                "Retry, or destroy the environment.",
                "InstancePendingTooLong",
            )
        return Wait(ctx.poll_seconds, "instance pending", instance)
    raise StepFailed(
        f"The instance {instance_id} is {state}: {instance.get('StateReason', {}).get('Message', '')}",
        "InstanceNotRunning",
    )


def build_carrier_ip(ctx: StepContext) -> Done | Wait:
    border_group = ctx.params["NetworkBorderGroup"]
    allocation_id = ensure_created(
        ctx, lambda: aws.carrier_ip_allocate(ctx.ec2, border_group=border_group, tags=ctx.tags)
    )
    fresh = {"AllocationId": allocation_id}  # just allocated: not associated anywhere yet
    address = fresh if ctx.created_now else aws.describe(ctx.ec2, "carrier_ip", allocation_id)
    instance = next(dep for dep in ctx.deps.values() if dep.kind == "instance")
    network_interface = aws.instance_network_interface(instance.described or {})
    association_id = aws.carrier_ip_associate(ctx.ec2, address, network_interface)
    address = aws.describe(ctx.ec2, "carrier_ip", allocation_id)
    ctx.save_progress(
        allocation_id=allocation_id,
        association_id=association_id,
        network_interface_id=network_interface,
        carrier_ip=address.get("CarrierIp") or address.get("PublicIp", ""),
    )
    return Done(address)


# --- Teardown ------------------------------------------------------------------------------------


def gone_or_wait(ctx: StepContext) -> Done | Wait:
    """AWS says the id does not exist: trust it unless its tags still find it (AWS catching up)."""
    if aws.find_id_by_tags(ctx.ec2, ctx.kind, ctx.tags):
        return Wait(ctx.poll_seconds, f"{ctx.resource.key} not visible by id yet")
    return Done(None)


def _delete_simple(delete: Callable[[Any, str], bool]) -> Callable[[StepContext], Done | Wait]:
    def teardown(ctx: StepContext) -> Done | Wait:
        aws_id = find_for_teardown(ctx)
        try:
            deleted = not aws_id or delete(ctx.ec2, aws_id)
        except ClientError as exc:
            if error_code(exc) != "DependencyViolation":
                raise
            # Something the plan never made holds it (an instance launched into the subnet by hand,
            # a group referencing it): the orphans tagged to the environment go first, then again.
            waiting = _remove_orphans(ctx)
            if waiting is not None:
                return waiting
            raise
        return Done(None) if deleted else gone_or_wait(ctx)

    return teardown


def _remove_orphans(ctx: StepContext) -> Wait | None:
    """Remove what AWS lists by the environment's tags that is none of its planned resources."""
    planned = set(ctx.environment.resources.exclude(aws_id="").values_list("aws_id", flat=True))
    orphans = [
        entry
        for entry in aws.environment_inventory(ctx.ec2, aws.environment_tags(ctx.tags))
        if entry["id"] not in planned and entry["type"] != "vpc"
    ]
    return _remove_leftovers(ctx, orphans) if orphans else None


def teardown_internet_gateway(ctx: StepContext) -> Done | Wait:
    gateway_id = find_for_teardown(ctx)
    if not gateway_id:
        return Done(None)
    vpc = ctx.deps.get("vpc")
    if vpc is not None and vpc.aws_id:
        aws.internet_gateway_detach(ctx.ec2, gateway_id, vpc.aws_id)
    if not aws.internet_gateway_delete(ctx.ec2, gateway_id):
        return gone_or_wait(ctx)
    return Done(None)


def teardown_route_table(ctx: StepContext) -> Done | Wait:
    table_id = find_for_teardown(ctx)
    if not table_id:
        return Done(None)
    table = aws.describe_or_none(ctx.ec2, "route_table", table_id)
    if table is None:
        return gone_or_wait(ctx)
    aws.route_table_clear(ctx.ec2, table)
    aws.route_table_delete(ctx.ec2, table_id)
    return Done(None)


def teardown_instance(ctx: StepContext) -> Done | Wait:
    """Terminate, then come back until AWS says terminated (its ENIs hold the subnet and groups)."""
    instance_id = find_for_teardown(ctx)
    if not instance_id:
        return Done(None)
    if not ctx.resource.progress.get("terminate_requested"):
        if not aws.instance_terminate(ctx.ec2, instance_id):
            return gone_or_wait(ctx)
        ctx.save_progress(terminate_requested=True)
    instance = aws.describe_or_none(ctx.ec2, "instance", instance_id)
    if instance is None:
        return Done(None)  # terminated
    state = instance["State"]["Name"]
    waited = ctx.waited_too_long(state)
    if waited is not None:
        raise StepFailed(
            f"The instance {instance_id} has been {state} for {waited / 60:.0f} min since it was asked to terminate. "
            "Retry the teardown later; if it stays, ask AWS Support.",
            "InstanceShutdownTooLong",
        )
    return Wait(ctx.poll_seconds, f"instance {state}", instance)


def teardown_carrier_ip(ctx: StepContext) -> Done | Wait:
    allocation_id = find_for_teardown(ctx)
    if not allocation_id:
        return Done(None)
    address = aws.describe_or_none(ctx.ec2, "carrier_ip", allocation_id)
    if address is None:
        return gone_or_wait(ctx)
    aws.carrier_ip_release(ctx.ec2, address, ctx.params["NetworkBorderGroup"])
    return Done(None)


# --- The inventory: nothing may be left --------------------------------------------------------

# Rounds in which AWS still lists something after the VPC went, before the teardown fails saying what.
INVENTORY_MAX_ROUNDS = 10


def _listing(entries: list[dict]) -> str:
    return ", ".join(f"{entry['id']} ({entry['type'].replace('_', ' ')})" for entry in entries)


def _remove_leftovers(ctx: StepContext, leftovers: list[dict]) -> Wait | None:
    """Remove what AWS still holds for the environment, in dependency order; Wait while instances go."""
    record(
        actor=None,
        action="environment.leftovers_removed",
        target=None,
        source=Source.WORKER,
        target_repr=str(ctx.environment),
        environment_id=ctx.environment.pk,
        correlation_id=ctx.environment.correlation_id,
        details={"items": [{"type": entry["type"], "id": entry["id"]} for entry in leftovers]},
    )
    instances = [entry for entry in leftovers if entry["type"] == "instance"]
    refused: list[tuple[dict, str, str]] = []  # (entry, code, AWS's message): AWS will not remove it
    for kind in aws.TEARDOWN_ORDER:
        for entry in (entry for entry in leftovers if entry["type"] == kind):
            try:
                aws.inventory_remove(ctx.ec2, entry)
            except ClientError as exc:
                verdict = classify(exc, teardown=True, recently_created=False)
                if verdict.action != Action.FATAL:
                    raise  # throttled, 5xx, a dependency not released yet: the engine retries
                refused.append((entry, verdict.code, verdict.message))
        if kind == "instance" and instances:
            # Their network interfaces and volumes hold subnets and groups until they are terminated.
            return Wait(ctx.poll_seconds, f"terminating {_listing(instances)} left in AWS")
    if refused:
        reasons = "; ".join(f"{entry['id']}: {message}" for entry, _, message in refused)
        raise StepFailed(f"Still in AWS: {_listing(leftovers)}. AWS refused to remove {reasons}", refused[0][1])
    return None


def teardown_vpc(ctx: StepContext) -> Done | Wait:
    """The last teardown step: whatever AWS still lists by the environment's tags goes, then the VPC.

    AWS is asked, never the database: orphans, duplicates and anything a step missed are found
    by tag (terminated and deleted ones skipped) and removed. Only an empty inventory ends the
    step; what stays listed fails it, named.
    """
    vpc_id = find_for_teardown(ctx)
    tags = aws.environment_tags(ctx.tags)
    leftovers = [entry for entry in aws.environment_inventory(ctx.ec2, tags) if entry["id"] != vpc_id]
    if leftovers:
        waiting = _remove_leftovers(ctx, leftovers)
        if waiting is not None:
            return waiting
    if vpc_id:
        aws.vpc_delete(ctx.ec2, vpc_id)
    remaining = aws.environment_inventory(ctx.ec2, tags)
    if not remaining:
        return Done(None)
    rounds = ctx.resource.progress.get("inventory_rounds", 0) + 1
    ctx.save_progress(inventory_rounds=rounds, remaining=[entry["id"] for entry in remaining])
    if rounds >= INVENTORY_MAX_ROUNDS:
        raise StepFailed(f"Still in AWS after teardown: {_listing(remaining)}.", "LeftoversRemain")
    return Wait(ctx.poll_seconds, f"AWS still lists {_listing(remaining)}")


BUILD: dict[str, Callable[[StepContext], Done | Wait]] = {
    "vpc": build_vpc,
    "subnet": build_subnet,
    "internet_gateway": build_internet_gateway,
    "carrier_gateway": build_carrier_gateway,
    "route_table": build_route_table,
    "security_group": build_security_group,
    "instance": build_instance,
    "carrier_ip": build_carrier_ip,
}

TEARDOWN: dict[str, Callable[[StepContext], Done | Wait]] = {
    "vpc": teardown_vpc,
    "subnet": _delete_simple(aws.subnet_delete),
    "internet_gateway": teardown_internet_gateway,
    "carrier_gateway": _delete_simple(aws.carrier_gateway_delete),
    "route_table": teardown_route_table,
    "security_group": _delete_simple(aws.security_group_delete),
    "instance": teardown_instance,
    "carrier_ip": teardown_carrier_ip,
}
