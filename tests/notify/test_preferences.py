"""Preferences: a person's choices over their team's defaults over "everywhere", for the panel,
email and the team's webhooks."""

import pytest
from django.core import mail

from audit.models import AuditEvent
from notify.models import NotificationPreference, WebhookEndpoint
from notify.preferences import preferences_save
from notify.services import notify
from tests.conftest import origin_of


@pytest.fixture(autouse=True)
def mail_in_memory(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def _notify_ready(team, *users):
    notify(users=list(users), verb="environment.ready", message="demo/edge is ready.", link="/environments/1/", team=team)


def test_everything_goes_everywhere_by_default(team, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _notify_ready(team, alice)
    assert alice.notifications.count() == 1
    assert [message.to for message in mail.outbox] == [["alice@example.test"]]


def test_a_person_turns_email_off_for_one_event(team, alice, bob, django_capture_on_commit_callbacks):
    preferences_save(origin=origin_of(alice), choices={"environment.ready": {"in_panel"}})
    with django_capture_on_commit_callbacks(execute=True):
        _notify_ready(team, alice, bob)
        notify(users=[alice], verb="environment.failed", message="demo/edge failed.", team=team)
    assert alice.notifications.count() == 2 and bob.notifications.count() == 1
    assert sorted((m.to[0], m.extra_headers["X-Wlpanel-Event"]) for m in mail.outbox) == [
        ("alice@example.test", "environment.failed"),
        ("bob@example.test", "environment.ready"),
    ]


def test_a_person_choice_wins_over_the_team_default(team, alice, bob, django_capture_on_commit_callbacks):
    preferences_save(origin=origin_of(bob), team=team, choices={"environment.ready": {"webhook"}})
    preferences_save(origin=origin_of(alice), choices={"environment.ready": {"in_panel", "email"}})
    with django_capture_on_commit_callbacks(execute=True):
        _notify_ready(team, alice, bob)
    assert alice.notifications.count() == 1 and bob.notifications.count() == 0
    assert [message.to for message in mail.outbox] == [["alice@example.test"]]


def test_the_team_switches_its_webhooks_off_for_an_event(team, bob):
    endpoint = WebhookEndpoint.objects.create(team=team, url="http://127.0.0.1:9/hook", events=["*"], secret="s" * 20)
    preferences_save(origin=origin_of(bob), team=team, choices={"environment.ready": {"in_panel", "email"}})
    _notify_ready(team)
    notify(users=[], verb="environment.failed", message="demo/edge failed.", team=team)
    assert list(endpoint.deliveries.values_list("event", flat=True)) == ["environment.failed"]


def test_only_approvers_and_admins_set_team_defaults_audited(team, alice, bob):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        preferences_save(origin=origin_of(alice), team=team, choices={"environment.ready": set()})
    preferences_save(origin=origin_of(bob), team=team, choices={"environment.ready": {"in_panel"}})
    row = AuditEvent.objects.get(action="notification_defaults.changed")
    assert row.actor_username == "bob" and row.team_slug == "demo"
    assert row.after == {"environment.ready": {"in_panel": True, "email": False, "webhook": False}}
    preferences_save(origin=origin_of(bob), team=team, choices={"environment.ready": {"in_panel"}})
    assert AuditEvent.objects.filter(action="notification_defaults.changed").count() == 1  # nothing changed


def test_page_saves_a_persons_choices_and_a_teams_defaults(client, alice, bob, team):
    client.force_login(bob)
    page = client.get("/notify/preferences/").content.decode()
    assert 'data-testid="team-preferences-demo"' in page and 'name="environment.ready:email"' in page
    client.post("/notify/preferences/", {"scope": "person", "environment.ready:in_panel": "1"})
    assert NotificationPreference.objects.filter(user=bob, event="environment.ready", in_panel=True, email=False).exists()
    client.post("/notify/preferences/", {"scope": "demo", "request.created:email": "1"})
    assert NotificationPreference.objects.get(team=team, event="request.created").in_panel is False

    client.force_login(alice)
    assert 'data-testid="team-preferences-demo"' not in client.get("/notify/preferences/").content.decode()
    assert client.post("/notify/preferences/", {"scope": "demo"}).status_code == 403
