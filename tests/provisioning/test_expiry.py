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


@pytest.mark.django_db(transaction=True)
def test_expiry_tries_a_failed_teardown_again_after_a_while(make_environment, monkeypatch):
    from celery import current_app

    from environments.choices import ResourceState

    monkeypatch.setattr(current_app, "send_task", lambda *args, **kwargs: None)
    environment = make_environment("undead")
    now = timezone.now()
    environment.state = "destroy_failed"
    environment.state_changed_at = now - timedelta(minutes=5)
    environment.expires_at = now - timedelta(hours=1)
    environment.save()
    environment.resources.filter(key="vpc").update(state=ResourceState.FAILED, progress={"phase": "teardown"})

    assert environments_expire(origin=Origin.system(), now=now) == 0  # failed just now: not yet
    later = now + timedelta(hours=2)
    assert environments_expire(origin=Origin.system(), now=later) == 1
    environment.refresh_from_db()
    assert environment.state == "destroying"
    assert environment.resources.get(key="vpc").state == ResourceState.DELETING  # the failed step starts over
