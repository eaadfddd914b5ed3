"""The TTL as a lease: warnings 24 h and 1 h before expiry, each once (time is moved, never slept),
each with a one-click extension within the team's maximum; beyond it, an extension request that an
approver decides, audited."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.context import Origin
from audit.models import AuditEvent
from environments import leases, services
from environments.provisioning.expiry import environments_expire
from notify.models import Notification
from tests.conftest import origin_of
from tests.notify.conftest import Api


@pytest.fixture(autouse=True)
def mail_in_memory(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.WLPANEL_BASE_URL = "https://wlpanel.example.test"


def _expiring_in(environment, delta: timedelta, *, now):
    environment.expires_at = now + delta
    environment.save(update_fields=["expires_at"])
    environment.refresh_from_db()  # and its team, whose maximum the test may have changed
    return environment


def _team_maximum(team, hours: int) -> None:
    team.max_ttl_hours = hours
    team.save(update_fields=["max_ttl_hours"])


def _warnings(user):
    return list(Notification.objects.filter(user=user, verb="environment.expiring").order_by("id"))


def test_24h_and_1h_warnings_fire_once_each_as_time_moves(make_environment, alice, django_capture_on_commit_callbacks):
    start = timezone.now()
    environment = _expiring_in(make_environment(alice, name="edge-lease"), timedelta(hours=30), now=start)

    def expire_at(moment):
        with django_capture_on_commit_callbacks(execute=True):
            assert environments_expire(origin=Origin.system(), now=moment) == 0

    expire_at(start)
    assert _warnings(alice) == []

    expire_at(start + timedelta(hours=6, minutes=1))
    expire_at(start + timedelta(hours=6, minutes=2))
    expire_at(start + timedelta(hours=20))
    (first,) = _warnings(alice)
    assert "expires in 23 h 59 min" in first.message and first.link == f"/environments/{environment.pk}/"

    expire_at(start + timedelta(hours=29, minutes=1))
    expire_at(start + timedelta(hours=29, minutes=30))
    first_again, second = _warnings(alice)
    assert first_again == first and "expires in 59 min" in second.message

    assert len(mail.outbox) == 2
    extend = f"https://wlpanel.example.test/environments/{environment.pk}/extend/?hours=24"
    assert all(extend in message.body and f'href="{extend}"' in message.alternatives[0][0] for message in mail.outbox)
    environment.refresh_from_db()
    assert environment.state == "provisioning" and environment.expiry_warned_at is not None


def test_a_short_one_is_warned_at_once_with_the_most_urgent_warning_only(make_environment, alice):
    start = timezone.now()
    _expiring_in(make_environment(alice, name="edge-short"), timedelta(minutes=30), now=start)
    environments_expire(origin=Origin.system(), now=start)
    environments_expire(origin=Origin.system(), now=start + timedelta(minutes=10))
    (warning,) = _warnings(alice)
    assert "expires in 30 min" in warning.message


def test_a_request_with_a_short_ttl_is_warned_on_the_first_run_after_creation(make_environment, alice):
    make_environment(alice, name="edge-2h", ttl_hours=2)
    environments_expire(origin=Origin.system())
    (warning,) = _warnings(alice)
    assert "expires in 1 h 59 min" in warning.message or "expires in 2 h 00 min" in warning.message


def test_an_extension_brings_the_warnings_back_for_the_new_expiry(make_environment, alice):
    start = timezone.now()
    environment = _expiring_in(make_environment(alice, name="edge-again"), timedelta(hours=2), now=start)
    environments_expire(origin=Origin.system(), now=start)
    environment = services.environment_extend(origin=origin_of(alice), environment_id=environment.pk, hours=48)
    environments_expire(origin=Origin.system(), now=start + timedelta(hours=10))
    assert len(_warnings(alice)) == 1  # the new expiry is 50 h away
    environments_expire(origin=Origin.system(), now=environment.expires_at - timedelta(hours=23))
    assert len(_warnings(alice)) == 2


def test_the_offer_stays_within_the_team_maximum(make_environment, alice, team):
    created = make_environment(alice, name="edge-offer")
    _team_maximum(team, 48)
    now = timezone.now()
    environment = _expiring_in(created, timedelta(hours=40), now=now)
    assert leases.extension_offer(environment, now=now) == {"label": "Extend by 8 h", "link": f"/environments/{environment.pk}/extend/?hours=8"}
    environment = _expiring_in(environment, timedelta(hours=47, minutes=30), now=now)
    assert leases.extension_offer(environment, now=now) == {"label": "Ask an approver to keep it longer", "link": f"/environments/{environment.pk}/extend/"}


def test_one_click_extend_from_the_warning_link(client, make_environment, alice):
    now = timezone.now()
    environment = _expiring_in(make_environment(alice, name="edge-click"), timedelta(hours=5), now=now)
    client.force_login(alice)
    page = client.get(f"/environments/{environment.pk}/extend/?hours=24").content.decode()
    assert "Extend by 24 h" in page and 'name="hours" value="24"' in page
    client.post(f"/environments/{environment.pk}/extend/", {"hours": "24"})
    before = environment.expires_at
    environment.refresh_from_db()
    assert environment.expires_at - before == timedelta(hours=24)
    assert AuditEvent.objects.filter(action="environment.extended", actor_username="alice").exists()


def test_an_extension_beyond_the_maximum_waits_for_an_approver(make_environment, alice, bob, erin, team):
    created = make_environment(alice, name="edge-keep")
    _team_maximum(team, 48)
    environment = _expiring_in(created, timedelta(hours=40), now=timezone.now())
    before = environment.expires_at
    with pytest.raises(ValidationError):
        services.environment_extend(origin=origin_of(alice), environment_id=environment.pk, hours=24)
    with pytest.raises(ValidationError):  # within the maximum: extend directly
        leases.extension_request_create(origin=origin_of(alice), environment_id=environment.pk, hours=8)

    extension = leases.extension_request_create(origin=origin_of(alice), environment_id=environment.pk, hours=24, reason="demo on Friday")
    environment.refresh_from_db()
    assert environment.expires_at == before  # nothing changes until an approver decides
    assert {n.user.username for n in Notification.objects.filter(verb="environment.extension_requested")} == {"bob", "erin"}
    with pytest.raises(PermissionDenied):
        leases.extension_request_approve(origin=origin_of(alice), extension_id=extension.pk)

    leases.extension_request_approve(origin=origin_of(bob), extension_id=extension.pk, comment="ok")
    environment.refresh_from_db()
    assert environment.expires_at == before + timedelta(hours=24)
    requested = AuditEvent.objects.get(action="environment.extension_requested")
    approved = AuditEvent.objects.get(action="environment.extension_approved")
    assert requested.actor_username == "alice" and approved.actor_username == "bob"
    assert approved.after == {"expires_at": environment.expires_at.isoformat()} and approved.details["requested_by"] == "alice"
    assert Notification.objects.filter(user=alice, verb="environment.extension_decided").exists()


def test_a_rejected_extension_changes_nothing(make_environment, alice, bob, team):
    created = make_environment(alice, name="edge-no")
    _team_maximum(team, 48)
    environment = _expiring_in(created, timedelta(hours=40), now=timezone.now())
    extension = leases.extension_request_create(origin=origin_of(alice), environment_id=environment.pk, hours=100)
    leases.extension_request_reject(origin=origin_of(bob), extension_id=extension.pk, comment="too long")
    before = environment.expires_at
    environment.refresh_from_db()
    assert environment.expires_at == before
    assert AuditEvent.objects.get(action="environment.extension_rejected").details["comment"] == "too long"


def test_extension_pages_ask_and_decide(client, make_environment, alice, bob, team):
    created = make_environment(alice, name="edge-pages")
    _team_maximum(team, 48)
    environment = _expiring_in(created, timedelta(hours=40), now=timezone.now())
    client.force_login(alice)
    page = client.get(f"/environments/{environment.pk}/extend/?hours=72").content.decode()
    assert "Extend by 8 h" in page and 'data-testid="extension-request-form"' in page
    client.post(f"/environments/{environment.pk}/extension-requests/", {"hours": "72", "reason": "longer test"})
    extension = environment.extension_requests.get()
    assert "Approve" not in client.get(f"/environments/{environment.pk}/extend/").content.decode()

    client.force_login(bob)
    assert "Approve" in client.get(f"/environments/{environment.pk}/extend/").content.decode()
    client.post(f"/extension-requests/{extension.pk}/approve/", {"comment": "fine"})
    extension.refresh_from_db()
    assert extension.state == "approved" and extension.decided_by == bob


def test_api_asks_and_an_approver_decides(make_environment, alice, bob, team):
    created = make_environment(alice, name="edge-api-keep")
    _team_maximum(team, 48)
    environment = _expiring_in(created, timedelta(hours=40), now=timezone.now())
    assert Api(alice).post(f"/environments/{environment.pk}/extend", {"hours": 24}).status_code == 400
    asked = Api(alice).post(f"/environments/{environment.pk}/extension-requests", {"hours": 24, "reason": "demo"})
    assert asked.status_code == 201 and asked.json()["state"] == "pending"
    extension_id = asked.json()["id"]
    assert Api(alice).post(f"/environments/{environment.pk}/extension-requests", {"hours": 30}).status_code == 409
    assert Api(alice).post(f"/extension-requests/{extension_id}/approve").status_code == 403
    approved = Api(bob).post(f"/extension-requests/{extension_id}/approve", {"comment": "ok"})
    assert approved.status_code == 200 and approved.json()["decided_by"] == "bob"
    assert approved.json()["expires_at"].startswith((environment.expires_at + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M"))
    assert Api(bob).post(f"/extension-requests/{extension_id}/reject").status_code == 409
    assert Api(bob).post("/extension-requests/999999/approve").status_code == 404
