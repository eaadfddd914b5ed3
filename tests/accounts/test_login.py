import pytest
from django.db import connection
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import audit_chain_verify
from tests.conftest import PASSWORD


@pytest.mark.django_db
def test_login_page_renders(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content and b'name="password"' in response.content


@pytest.mark.django_db
def test_home_requires_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.django_db
def test_failed_then_successful_login_are_audited_with_an_intact_chain(client, alice):
    client.post(reverse("login"), {"username": "alice", "password": "wrong"}, REMOTE_ADDR="10.9.8.7")
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD}, follow=True)

    assert b'data-testid="logged-in-as">alice<' in response.content
    actions = list(AuditEvent.objects.order_by("id").values_list("action", "actor_username"))
    assert actions == [("user.login_failed", ""), ("user.logged_in", "alice")]
    failed = AuditEvent.objects.get(action="user.login_failed")
    assert failed.details == {"username": "alice"} and failed.ip_address == "10.9.8.7"
    assert audit_chain_verify() == (2, None)


@pytest.mark.django_db
def test_logout_is_audited(client, alice):
    client.force_login(alice)
    client.post(reverse("logout"))
    assert AuditEvent.objects.filter(action="user.logged_out", actor_username="alice").exists()


@pytest.mark.django_db
def test_password_guessing_locks_the_username_and_address_pair(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "alice", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code in (403, 429)
    assert not response.wsgi_request.user.is_authenticated


@pytest.mark.django_db
def test_idle_session_is_logged_out(client, alice, settings):
    client.force_login(alice)
    session = client.session
    session["last_seen"] = 1  # long ago
    session.save()
    response = client.get(reverse("home"))
    assert response.status_code == 302


@pytest.mark.django_db
def test_healthz_reports_database_and_broker_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True, "vendor": "postgresql"}
    assert body["broker"]["ok"] is True


@pytest.mark.django_db
def test_healthz_is_503_when_the_broker_does_not_answer(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"]["ok"] is False


def test_issue_token_prints_only_the_token_as_last_line(db, alice, capsys):
    from django.core.management import call_command

    from accounts.models import ApiToken
    from accounts.services import api_token_authenticate

    call_command("issue_token", "alice")
    printed = capsys.readouterr()
    token = printed.out.strip().splitlines()[-1]
    # Which database holds it, on stderr: a token issued against another database fails to log in.
    assert f"database {connection.settings_dict['NAME']} on 127.0.0.1:5432" in printed.err
    assert api_token_authenticate(token) == alice
    assert not ApiToken.objects.filter(key_hash=token).exists()  # only the hash is stored


@pytest.mark.django_db
def test_healthz_shows_workers_hosts_and_pids_to_staff_only(client, alice, admin_user):
    from django.utils import timezone

    from environments.models import WorkerHeartbeat

    now = timezone.now()
    WorkerHeartbeat.objects.create(
        node="celery@edge-host-7", hostname="edge-host-7", pid=4242, capacity=4, started_at=now, beat_at=now
    )
    public = client.get("/healthz")
    assert public.status_code == 200 and set(public.json()) == {"status", "database", "broker"}
    assert b"edge-host-7" not in public.content and b"4242" not in public.content

    client.force_login(alice)
    assert b"edge-host-7" not in client.get("/healthz").content

    client.force_login(admin_user)
    staff = client.get("/healthz").json()
    assert {"node": "celery@edge-host-7", "pid": 4242}.items() <= staff["workers"]["items"][0].items()
