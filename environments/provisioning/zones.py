"""The zone cache: Wavelength Zones and their offerings as last described, and zone-group opt-in.

Pages read the `Zone` table only; beat refreshes it (and so does an opt-in). Carrier and metro
labels come from the curated data file when AWS does not say (it never does).
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
from environments.exceptions import Conflict, PermissionDenied, ValidationError
from environments.models import Zone
from netmodel.zones import zones_by_name

log = logging.getLogger(__name__)

OPT_IN_WAIT_SECONDS = 30


def curated_zones() -> dict[str, dict]:
    """The reference zone data (carrier, metro, group, region) keyed by zone name."""
    return zones_by_name()


def zones_refresh(*, origin: Origin) -> int:
    """Describe the Wavelength Zones of every configured region into the cache; the zones seen."""
    seen = 0
    for region in settings.WLPANEL_AWS_REGIONS:
        try:
            seen += zones_refresh_region(region, origin=origin)
        except aws_client.AwsError as exc:
            # One unreachable or disabled region must not hide the others.
            log.warning("zone refresh of %s failed: %s", region, exc)
    return seen


def zones_refresh_region(region: str, *, origin: Origin, cause_event_id: int | None = None) -> int:
    context = aws_client.CallContext(correlation_id=origin.correlation_id, cause_event_id=cause_event_id)
    ec2 = aws_client.ec2_client(region, context=context)
    described = aws_zones.wavelength_zones_describe(ec2)
    offerings = aws_zones.instance_type_offerings(ec2, [zone["ZoneName"] for zone in described])
    curated = curated_zones()
    now = timezone.now()
    for zone in described:
        labels = curated.get(zone["ZoneName"], {})
        Zone.objects.update_or_create(
            name=zone["ZoneName"],
            defaults={
                "zone_id": zone.get("ZoneId", ""),
                "group_name": zone.get("GroupName") or labels.get("group_name", ""),
                "region": zone.get("RegionName", region),
                "parent_zone_name": zone.get("ParentZoneName") or labels.get("parent_zone_name", ""),
                "parent_zone_id": zone.get("ParentZoneId") or labels.get("parent_zone_id", ""),
                "network_border_group": zone.get("NetworkBorderGroup") or zone["ZoneName"],
                "opt_in_status": zone.get("OptInStatus", "not-opted-in"),
                "carrier": labels.get("carrier", ""),
                "metro": labels.get("metro", ""),
                "instance_types": offerings.get(zone["ZoneName"], []),
                "described_at": now,
            },
        )
    return len(described)


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


def zone_group_opt_in(*, origin: Origin, group: str) -> list[Zone]:
    """Admin only: opt the group in (one-way), then return once the zone cache shows it."""
    if not _may_opt_in(origin):
        raise PermissionDenied("Only an admin may opt a zone group in (opting out again needs AWS Support).")
    region = _group_region(group)
    with transaction.atomic():
        intent = origin.record(
            action="zone_group.opt_in_requested",
            target=None,
            target_repr=group,
            details={"group": group, "region": region},
        )
    context = aws_client.CallContext(correlation_id=origin.correlation_id, cause_event_id=intent.pk)
    try:
        aws_zones.zone_group_opt_in(aws_client.ec2_client(region, context=context), group)
    except aws_client.AwsError as exc:
        origin.record(
            action="zone_group.opt_in_failed",
            target=None,
            target_repr=group,
            details={
                "group": group,
                "region": region,
                "code": error_code(exc),
                "message": error_message(exc),
            },
        )
        raise Conflict(f"AWS did not opt in {group}: {error_message(exc)}") from exc
    opted_in = origin.record(
        action="zone_group.opted_in",
        target=None,
        target_repr=group,
        details={"group": group, "region": region},
    )
    zones = _wait_for_cache(group, region, origin=origin, cause_event_id=intent.pk)
    _tell_who_asked(group, before_event_id=opted_in.pk, origin=origin)
    return zones


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
    who = origin.user.get_username() if origin.user is not None else "The system"
    notify(
        users=list(get_user_model().objects.filter(pk__in=asker_ids, is_active=True)),
        verb="zone_group.opted_in",
        message=f"{who} opted in the zone group {group} you asked for: its zones can be requested now.",
        link=reverse("environments:request_create"),
    )


def _wait_for_cache(group: str, region: str, *, origin: Origin, cause_event_id: int) -> list[Zone]:
    """Opt-in takes effect asynchronously in AWS: re-describe until the cache shows it (bounded)."""
    deadline = time.monotonic() + OPT_IN_WAIT_SECONDS
    while True:
        zones_refresh_region(region, origin=origin, cause_event_id=cause_event_id)
        zones = list(Zone.objects.filter(group_name=group))
        if all(zone.opted_in for zone in zones) or time.monotonic() > deadline:
            return zones
        time.sleep(1)
