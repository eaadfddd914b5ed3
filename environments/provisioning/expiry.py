"""Expiry: an environment past `expires_at` is destroyed; its owner is warned once beforehand.

Expiry is a reason to destroy, not a state (DESIGN section 5). The warning links to the
environment's page, where the owner can extend it.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from audit.context import Origin
from environments.choices import EnvironmentState
from environments.models import Environment
from environments.services import environment_destroy
from notify import services as notifications

from .engine import engine_setting

EXPIRED_REASON = "expired"
# Live environments: a teardown in progress or failed is not started again by expiry.
EXPIRABLE_STATES = (EnvironmentState.PROVISIONING, EnvironmentState.READY, EnvironmentState.FAILED)


def warning_hours() -> float:
    return engine_setting("WLPANEL_EXPIRY_WARNING_HOURS", 24.0)


def environments_expire(*, origin: Origin, now=None) -> int:
    """Warn owners of environments about to expire, destroy the expired; the number destroyed."""
    now = now or timezone.now()
    _warn_expiring(now)
    expired = Environment.objects.filter(state__in=EXPIRABLE_STATES, expires_at__lte=now).values_list(
        "pk", flat=True
    )
    return sum(1 for environment_id in list(expired) if _destroy_expired(origin, environment_id))


def _warn_expiring(now) -> None:
    horizon = now + timedelta(hours=warning_hours())
    expiring = Environment.objects.filter(
        state__in=EXPIRABLE_STATES, expiry_warned_at__isnull=True, expires_at__gt=now, expires_at__lte=horizon
    ).select_related("owner")
    for environment in expiring:
        with transaction.atomic():
            # Claim the warning first, so two beat runs never warn twice.
            if not Environment.objects.filter(pk=environment.pk, expiry_warned_at__isnull=True).update(
                expiry_warned_at=now
            ):
                continue
            notifications.notify(
                users=[environment.owner],
                verb="environment.expiring",
                team=environment.team,
                message=(
                    f"{environment} expires at {environment.expires_at:%Y-%m-%d %H:%M} UTC and will then be destroyed. "
                    "Extend it from its page if you still need it."
                ),
                link=f"/environments/{environment.pk}/",
            )


def _destroy_expired(origin: Origin, environment_id: int) -> bool:
    """Start the teardown of an expired environment, audited as the system's destroy."""
    with transaction.atomic():
        environment = Environment.objects.select_for_update().get(pk=environment_id)
        if environment.state not in EXPIRABLE_STATES or environment.expires_at > timezone.now():
            return False  # extended or destroyed meanwhile
        environment_destroy(origin=origin, environment_id=environment_id, reason=EXPIRED_REASON)
    return True
