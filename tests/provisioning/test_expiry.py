"""Expiry destroys an environment past `expires_at`; its owner is warned once, ahead of time."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.context import Origin
from audit.models import AuditEvent
from environments.provisioning.expiry import environments_expire
from notify.models import Notification

from .conftest import wait_for_state

pytestmark = pytest.mark.workers


def test_expiring_environment_is_warned_once_then_destroyed(engine_worker, make_environment, control, alice):
    engine_worker()
    environment = make_environment("short-lived", bastion=False)
    wait_for_state(environment, "ready", "failed")
    assert environment.state == "ready", environment.failure_reason

    environment.expires_at = timezone.now() + timedelta(hours=2)
    environment.save(update_fields=["expires_at"])
    assert environments_expire(origin=Origin.system()) == 0
    assert environments_expire(origin=Origin.system()) == 0
    warnings = Notification.objects.filter(user=alice, verb="environment.expiring")
    assert warnings.count() == 1
    assert warnings.get().link == f"/environments/{environment.pk}/"
    environment.refresh_from_db()
    assert environment.expiry_warned_at is not None and environment.state == "ready"

    environment.expires_at = timezone.now() - timedelta(minutes=1)
    environment.save(update_fields=["expires_at"])
    assert environments_expire(origin=Origin.system()) == 1
    assert environments_expire(origin=Origin.system()) == 0  # already destroying: not twice
    requested = AuditEvent.objects.get(environment_id=environment.pk, action="environment.destroy_requested")
    assert requested.source == "beat" and requested.actor_id is None and requested.details == {"reason": "expired"}
    wait_for_state(environment, "destroyed", "destroy_failed")
    assert environment.state == "destroyed"
    assert control.inventory(environment.pk) == []
