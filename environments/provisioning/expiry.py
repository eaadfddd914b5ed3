"""Expiry: an environment past `expires_at` is destroyed; its owner is warned once beforehand.

Expiry is a reason to destroy, not a state (DESIGN section 5). The warning links to the
environment's page, where the owner can extend it.
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.context import Origin
from environments.choices import EnvironmentState
from environments.models import Environment
from environments.services import environment_destroy
from notify import services as notifications

from .engine import engine_setting

EXPIRED_REASON = "expired"
# Live environments are warned and destroyed once expired.
EXPIRABLE_STATES = (EnvironmentState.PROVISIONING, EnvironmentState.READY, EnvironmentState.FAILED)


def warning_hours() -> float:
    return engine_setting("WLPANEL_EXPIRY_WARNING_HOURS", 24.0)


def destroy_retry_seconds() -> float:
    """How long an expired environment whose teardown failed waits before expiry tries again."""
    return engine_setting("WLPANEL_EXPIRY_DESTROY_RETRY_SECONDS", 3600.0)


def _due(now) -> Q:
    """Expired and live, or expired with a teardown that failed a while ago (it is tried again)."""
    retry_before = now - timedelta(seconds=destroy_retry_seconds())
    return Q(expires_at__lte=now) & (
        Q(state__in=EXPIRABLE_STATES)
        | Q(state=EnvironmentState.DESTROY_FAILED, state_changed_at__lte=retry_before)
    )


def environments_expire(*, origin: Origin, now=None) -> int:
    """Warn owners of environments about to expire, destroy the expired; the number destroyed."""
    now = now or timezone.now()
    _warn_expiring(now)
    expired = Environment.objects.filter(_due(now)).values_list("pk", flat=True)
    return sum(1 for environment_id in list(expired) if _destroy_expired(origin, environment_id, now))


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
                message=(
                    f"{environment} expires at {environment.expires_at:%Y-%m-%d %H:%M} UTC and will then be destroyed. "
                    "Extend it from its page if you still need it."
                ),
                link=f"/environments/{environment.pk}/",
            )


def _destroy_expired(origin: Origin, environment_id: int, now) -> bool:
    """Start the teardown of an expired environment, audited as the system's destroy."""
    with transaction.atomic():
        environment = Environment.objects.select_for_update().filter(_due(now), pk=environment_id).first()
        if environment is None:
            return False  # extended, destroyed or retried meanwhile
        environment_destroy(origin=origin, environment_id=environment_id, reason=EXPIRED_REASON)
    return True
