"""The zone cache: Wavelength Zones and their offerings as last described, and zone-group opt-in.

Pages read the `Zone` table only; beat refreshes it (and so does an opt-in). Carrier and metro
labels come from the curated data file when AWS does not say (it never does).

An opt-in answers as soon as AWS has accepted it: AWS opts the group in a little later, so its
zones show `opt-in-requested` until a refresh sees AWS report `opted-in` (a worker task follows
the opt-in; beat's refresh would see it too). That refresh records `zone_group.opted_in`.
"""

import logging
import time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.choices import Source
from audit.context import Origin
from aws import client as aws_client
from aws import zones as aws_zones
from aws.errors import error_code, error_message
from clouds.models import AwsAccount
from clouds.services import account_access
from environments.exceptions import Conflict, PermissionDenied, ValidationError
from environments.models import Zone
from netmodel.zones import zones_by_name

log = logging.getLogger(__name__)

OPT_IN_WAIT_SECONDS = 30
OPTED_IN = "opted-in"
OPT_IN_REQUESTED = "opt-in-requested"


def curated_zones() -> dict[str, dict]:
    """The reference zone data (carrier, metro, group, region) keyed by zone name."""
    return zones_by_name()


def refresh_targets() -> list[tuple[AwsAccount | None, str]]:
    """(account, Region) pairs the zone cache covers: the panel's own account in the configured
    Regions, and each registered account in the Regions an admin allowed it."""
    targets: list[tuple[AwsAccount | None, str]] = [(None, region) for region in settings.WLPANEL_AWS_REGIONS]
    for account in AwsAccount.objects.order_by("pk"):
        targets += [(account, region) for region in account.regions]
    return targets


def zones_refresh(*, origin: Origin) -> int:
    """Describe the Wavelength Zones of every (account, Region) into the cache; the zones seen."""
    seen = 0
    for account, region in refresh_targets():
        try:
            seen += zones_refresh_region(region, origin=origin, account=account)
        except aws_client.AwsError as exc:
            # One unreachable Region, or a role that cannot be assumed, must not hide the others.
            log.warning("zone refresh of %s in %s failed: %s", region, account or "the panel's account", exc)
    return seen


def zones_refresh_region(
    region: str, *, origin: Origin, account: AwsAccount | None = None, cause_event_id: int | None = None
) -> int:
    context = aws_client.CallContext(correlation_id=origin.correlation_id, cause_event_id=cause_event_id)
    ec2 = aws_client.ec2_client(region, context=context, account=account_access(account))
    described = aws_zones.wavelength_zones_describe(ec2)
    offerings = aws_zones.instance_type_offerings(ec2, [zone["ZoneName"] for zone in described])
    now = timezone.now()
    cached = Zone.objects.filter(account=account)
    requested = set(cached.filter(opt_in_status=OPT_IN_REQUESTED).values_list("name", flat=True))
    requested_groups = set(cached.filter(name__in=requested).values_list("group_name", flat=True))
    with transaction.atomic():  # one refresh seen whole: never a group half opted in
        _zones_store(described, account=account, region=region, requested=requested, offerings=offerings, now=now)
    for group in sorted(requested_groups):
        if not cached.filter(group_name=group).exclude(opt_in_status=OPTED_IN).exists():
            opted_in = origin.record(
                action="zone_group.opted_in",
                target=None,
                target_repr=group,
                details={"group": group, "region": region, **_account_details(account)},
            )
            _tell_who_asked(group, before_event_id=opted_in.pk, origin=origin)
    return len(described)


def _zones_store(described: list[dict], *, account, region: str, requested: set[str], offerings: dict, now) -> None:
    """The zone cache as AWS described the Region's Wavelength Zones (curated labels added)."""
    curated = curated_zones()
    for zone in described:
        labels = curated.get(zone["ZoneName"], {})
        status = zone.get("OptInStatus", "not-opted-in")
        if zone["ZoneName"] in requested and status != OPTED_IN:
            status = OPT_IN_REQUESTED  # asked; AWS has not reported it yet
        Zone.objects.update_or_create(
            account=account,
            name=zone["ZoneName"],
            defaults={
                "zone_id": zone.get("ZoneId", ""),
                "group_name": zone.get("GroupName") or labels.get("group_name", ""),
                "region": zone.get("RegionName", region),
                "parent_zone_name": zone.get("ParentZoneName") or labels.get("parent_zone_name", ""),
                "parent_zone_id": zone.get("ParentZoneId") or labels.get("parent_zone_id", ""),
                "network_border_group": zone.get("NetworkBorderGroup") or zone["ZoneName"],
                "opt_in_status": status,
                "carrier": labels.get("carrier", ""),
                "metro": labels.get("metro", ""),
                "instance_types": offerings.get(zone["ZoneName"], []),
                "described_at": now,
            },
        )


def _account_details(account: AwsAccount | None) -> dict:
    return {"account_id": account.account_id} if account else {}


def _group_region(group: str) -> str:
    region = Zone.objects.filter(group_name=group).values_list("region", flat=True).first()
    if region:
        return region
    for zone in curated_zones().values():
        if zone.get("group_name") == group:
            return zone["region"]
    raise ValidationError({"group": [f"No known Wavelength Zone belongs to the group {group}."]})


def _may_opt_in(origin: Origin) -> bool:
    if origin.user is None:
        return origin.source == Source.SHELL  # an operator at the shell, e.g. `manage.py demo_zones`
    return origin.user.is_superuser


def zone_group_opt_in(*, origin: Origin, group: str, account: AwsAccount | None = None) -> list[Zone]:
    """Admin only: ask AWS to opt the group in (one-way) in `account` (None: the panel's own);
    answers at once with the group's zones, `opt-in-requested` until AWS reports them opted in
    (a worker task follows the opt-in). Opt-ins are per account, as on AWS."""
    if not _may_opt_in(origin):
        raise PermissionDenied("Only an admin may opt a zone group in (opting out again needs AWS Support).")
    region = _group_region(group)
    with transaction.atomic():
        intent = origin.record(
            action="zone_group.opt_in_requested",
            target=None,
            target_repr=group,
            details={"group": group, "region": region, **_account_details(account)},
        )
    context = aws_client.CallContext(correlation_id=origin.correlation_id, cause_event_id=intent.pk)
    try:
        aws_zones.zone_group_opt_in(aws_client.ec2_client(region, context=context, account=account_access(account)), group)
    except aws_client.AwsError as exc:
        origin.record(
            action="zone_group.opt_in_failed",
            target=None,
            target_repr=group,
            details={
                "group": group,
                "region": region,
                **_account_details(account),
                "code": error_code(exc),
                "message": error_message(exc),
            },
        )
        raise Conflict(f"AWS did not opt in {group}: {error_message(exc)}") from exc
    from environments import tasks  # the tasks module imports this one

    zones = Zone.objects.filter(account=account, group_name=group)
    with transaction.atomic():
        zones.exclude(opt_in_status=OPTED_IN).update(opt_in_status=OPT_IN_REQUESTED)
        transaction.on_commit(
            lambda: tasks.zone_opt_in_follow.delay(
                group=group,
                region=region,
                correlation_id=origin.correlation_id,
                cause_event_id=intent.pk,
                account_pk=account.pk if account else None,
            )
        )
    return list(zones)


def _tell_who_asked(group: str, *, before_event_id: int, origin: Origin) -> None:
    """Notify the members who asked for this group (since it was last opted in) that it is done."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from audit.models import AuditEvent
    from notify.services import notify

    asks = AuditEvent.objects.filter(action="zone_group.opt_in_asked", target_repr=group, id__lt=before_event_id)
    previous = (
        AuditEvent.objects.filter(action="zone_group.opted_in", target_repr=group, id__lt=before_event_id)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    if previous:
        asks = asks.filter(id__gt=previous)
    asker_ids = set(asks.exclude(actor_id=None).values_list("actor_id", flat=True))
    asker_ids.discard(getattr(origin.user, "pk", None))
    if not asker_ids:
        return
    notify(
        users=list(get_user_model().objects.filter(pk__in=asker_ids, is_active=True)),
        verb="zone_group.opted_in",
        message=f"The zone group {group} you asked for is opted in: its zones can be requested now.",
        link=reverse("environments:request_create"),
    )


def zone_group_opt_in_follow(
    *, group: str, region: str, origin: Origin, account: AwsAccount | None = None, cause_event_id: int | None = None
) -> bool:
    """Re-describe the region once; True when every zone of the group is opted in (cached)."""
    zones_refresh_region(region, origin=origin, account=account, cause_event_id=cause_event_id)
    return not Zone.objects.filter(account=account, group_name=group).exclude(opt_in_status=OPTED_IN).exists()


def zone_group_opted_in_wait(
    *, group: str, origin: Origin, account: AwsAccount | None = None, timeout: float = OPT_IN_WAIT_SECONDS
) -> list[Zone]:
    """For the shell (`manage.py demo_zones`): follow an opt-in until AWS reports it, bounded."""
    region = _group_region(group)
    deadline = time.monotonic() + timeout
    while (
        not zone_group_opt_in_follow(group=group, region=region, origin=origin, account=account)
        and time.monotonic() < deadline
    ):
        time.sleep(1)
    return list(Zone.objects.filter(account=account, group_name=group))
