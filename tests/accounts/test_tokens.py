"""API tokens expire, die with a password change or a deactivation, and their owner lists and
revokes them on a page; every issue and revocation is an audit row."""

from datetime import timedelta
from io import StringIO

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import ApiToken
from audit.models import AuditEvent
from tests.conftest import origin_of


def api_status(key: str) -> int:
    return Client().get("/api/teams", HTTP_AUTHORIZATION=f"Bearer {key}").status_code


@pytest.mark.django_db
def test_a_token_expires_after_the_configured_days_and_is_refused_then(alice, settings):
    settings.WLPANEL_API_TOKEN_DAYS = 90
    key = services.api_token_issue(user=alice)
    token = ApiToken.objects.get(user=alice)
    assert timedelta(days=89, hours=23) < token.expires_at - timezone.now() <= timedelta(days=90)
    assert api_status(key) == 200

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Client().get("/api/teams", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 401 and "expired" in response.json()["detail"]


@pytest.mark.django_db
def test_a_password_change_revokes_the_users_tokens(alice, admin_user):
    key = services.api_token_issue(user=alice)
    services.user_password_set(origin=origin_of(admin_user), user=alice, password="another-long-password-7")
    assert api_status(key) == 401
    assert AuditEvent.objects.get(action="api_token.revoked").details == {"reason": "password changed"}


@pytest.mark.django_db
def test_deactivation_revokes_the_users_tokens(alice, admin_user):
    key = services.api_token_issue(user=alice)
    alice.is_active = False
    services.user_save(origin=origin_of(admin_user), user=alice)
    alice.is_active = True  # reactivated: the old token stays dead
    services.user_save(origin=origin_of(admin_user), user=alice)

    assert api_status(key) == 401
    assert ApiToken.objects.get(user=alice).revoked_at is not None
    revoked = AuditEvent.objects.get(action="api_token.revoked")
    assert revoked.details == {"reason": "user deactivated"} and revoked.actor_username == "admin"


@pytest.mark.django_db
def test_the_owner_lists_their_tokens_and_no_one_elses(client, alice, bob):
    services.api_token_issue(user=alice)
    services.api_token_issue(user=bob)
    alices, bobs = ApiToken.objects.get(user=alice), ApiToken.objects.get(user=bob)
    client.force_login(alice)

    response = client.get(reverse("accounts:token_list"))
    page = response.content.decode()
    assert response.status_code == 200
    assert f'data-testid="token-{alices.prefix}"' in page and bobs.prefix not in page
    assert "active" in page and reverse("accounts:token_revoke", args=[alices.pk]) in page
    assert reverse("accounts:token_list") in client.get(reverse("home")).content.decode()  # linked from every page


@pytest.mark.django_db
def test_the_owner_revokes_a_token_on_the_page_and_it_is_audited(client, alice):
    key = services.api_token_issue(user=alice)
    token = ApiToken.objects.get(user=alice)
    client.force_login(alice)

    response = client.post(reverse("accounts:token_revoke", args=[token.pk]), REMOTE_ADDR="10.4.4.4", follow=True)
    assert response.status_code == 200 and "revoked" in response.content.decode()
    assert api_status(key) == 401
    row = AuditEvent.objects.get(action="api_token.revoked")
    assert (row.actor_username, row.source, row.ip_address) == ("alice", "web", "10.4.4.4")
    assert row.before == {"token_prefix": token.prefix, "revoked_at": None} and row.after["revoked_at"]


@pytest.mark.django_db
def test_someone_elses_token_cannot_be_revoked_on_the_page(client, alice, bob):
    key = services.api_token_issue(user=bob)
    client.force_login(alice)
    response = client.post(reverse("accounts:token_revoke", args=[ApiToken.objects.get(user=bob).pk]))
    assert response.status_code == 404 and api_status(key) == 200
    assert client.get(reverse("accounts:token_revoke", args=[1])).status_code == 405


@pytest.mark.django_db
def test_the_tokens_page_needs_a_login(client):
    response = client.get(reverse("accounts:token_list"))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.django_db
def test_djangos_changepassword_command_still_revokes_tokens_and_is_audited(alice, monkeypatch):
    from django.core.management import call_command

    key = services.api_token_issue(user=alice)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": "a-fresh-long-password-3")
    call_command("changepassword", "alice", stdout=StringIO())

    assert api_status(key) == 401
    changed = AuditEvent.objects.get(action="user.password_changed")
    assert changed.source == "shell" and changed.details["outside_services"] is True


@pytest.mark.django_db
def test_a_privilege_change_saved_outside_the_services_is_still_audited(alice):
    alice.is_superuser = True
    alice.save()
    alice.save(update_fields=["last_login"])  # a login's save: nothing to audit

    (row,) = AuditEvent.objects.filter(action="user.changed")
    assert (row.before["is_superuser"], row.after["is_superuser"]) == (False, True)
    assert row.details == {"outside_services": True}
