"""Expiry: an environment past `expires_at` is destroyed; its owner is warned 24 h and 1 h before.

Expiry is a reason to destroy, not a state (docs/api.md, "Roles" and "States"). Each warning goes once per expiry
time, links to the environment's page and offers a one-click extension within the team's maximum
(or, past it, an extension request for an approver).
"""

from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.context import Origin
from environments.choices import EnvironmentState
from environments.leases import extension_offer
from environments.models import Environment
from environments.services import environment_destroy
from notify import selectors as notification_selectors
from notify import services as notifications

from .engine import engine_setting

EXPIRED_REASON = "expired"
# Live environments are warned and destroyed once expired.
EXPIRABLE_STATES = (EnvironmentState.PROVISIONING, EnvironmentState.READY, EnvironmentState.FAILED)


def warning_hours() -> float:
    return engine_setting("WLPANEL_EXPIRY_WARNING_HOURS", 24.0)


def final_warning_hours() -> float:
    return engine_setting("WLPANEL_EXPIRY_FINAL_WARNING_HOURS", 1.0)


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


def _warning_key(environment: Environment, hours: float) -> str:
    """Once per expiry time and stage: an extension moves the expiry, and the warnings come again."""
    return f"environment.expiring:{environment.pk}:{environment.expires_at.isoformat()}:{hours:g}h"


def _warn_expiring(now) -> None:
    """Each stage's warning (24 h and 1 h before) once; one created with less time left than a stage
    gets the most urgent due warning at once, and the earlier stages are skipped."""
    stages = sorted({warning_hours(), final_warning_hours()}, reverse=True)
    expiring = list(
        Environment.objects.filter(
            state__in=EXPIRABLE_STATES, expires_at__gt=now, expires_at__lte=now + timedelta(hours=stages[0])
        ).select_related("owner", "team")
    )
    due = {
        environment.pk: [_warning_key(environment, h) for h in stages if environment.expires_at - now <= timedelta(hours=h)]
        for environment in expiring
    }
    sent = notification_selectors.notification_keys_claimed(key for keys in due.values() for key in keys)
    for environment in expiring:
        keys = due[environment.pk]
        if keys[-1] in sent:
            continue
        with transaction.atomic():
            # Claim every due stage first, so two beat runs never warn twice and a skipped stage stays skipped.
            if not [notifications.notification_claim(key=key) for key in keys][-1]:
                continue
            Environment.objects.filter(pk=environment.pk).update(expiry_warned_at=now)
            notifications.notify(
                users=[environment.owner],
                verb="environment.expiring",
                team=environment.team,
                message=(
                    f"{environment} expires in {_left(environment.expires_at - now)}, at {environment.expires_at:%Y-%m-%d %H:%M} UTC, "
                    "and will then be destroyed. Extend it if you still need it."
                ),
                link=f"/environments/{environment.pk}/",
                actions=[extension_offer(environment, now=now)],
            )


def _left(left: timedelta) -> str:
    minutes = max(int(left.total_seconds() // 60), 1)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _destroy_expired(origin: Origin, environment_id: int, now) -> bool:
    """Start the teardown of an expired environment, audited as the system's destroy."""
    with transaction.atomic():
        environment = Environment.objects.select_for_update().filter(_due(now), pk=environment_id).first()
        if environment is None:
            return False  # extended, destroyed or retried meanwhile
        environment_destroy(origin=origin, environment_id=environment_id, reason=EXPIRED_REASON)
    return True
