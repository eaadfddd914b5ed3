"""Every privilege change leaves an audit row with before and after: through the services, the
real Django admin pages, and the management commands."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.urls import reverse

from accounts import services
from accounts.choices import GlobalRole, TeamRole
from accounts.models import ApiToken, Membership, Team, User
from audit.models import AuditEvent
from audit.services import audit_chain_verify
from tests.conftest import origin_of


def rows(action: str):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


# --- The services ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_membership_add_role_change_and_removal_are_audited(admin_user, team, make_user):
    dave = make_user("dave")
    origin = origin_of(admin_user)

    membership = services.membership_set(origin=origin, team=team, user=dave, role=TeamRole.MEMBER)
    services.membership_set(origin=origin, team=team, user=dave, role=TeamRole.APPROVER)
    services.membership_set(origin=origin, team=team, user=dave, role=TeamRole.APPROVER)  # no change: no row
    services.membership_remove(origin=origin, membership=membership)

    added, changed, removed = rows("membership.added"), rows("membership.role_changed"), rows("membership.removed")
    assert len(added) == len(changed) == len(removed) == 1
    assert added[0].before is None and added[0].after == {"user": "dave", "team": "demo", "role": "member"}
    assert (changed[0].before["role"], changed[0].after["role"]) == ("member", "approver")
    assert removed[0].before == {"user": "dave", "team": "demo", "role": "approver"} and removed[0].after is None
    assert {row.actor_username for row in added + changed + removed} == {"admin"}
    assert {row.team_slug for row in added + changed + removed} == {"demo"}
    assert not Membership.objects.filter(user=dave).exists()
    assert audit_chain_verify()[1] is None


@pytest.mark.django_db
def test_user_privilege_changes_are_audited_with_before_and_after(admin_user, make_user):
    dave = make_user("dave")
    dave.global_role, dave.is_superuser = GlobalRole.AUDITOR, True
    services.user_save(origin=origin_of(admin_user), user=dave, groups=[Group.objects.create(name="ops")])

    (row,) = rows("user.changed")
    assert (row.before["global_role"], row.after["global_role"]) == ("", "auditor")
    assert (row.before["is_superuser"], row.after["is_superuser"]) == (False, True)
    assert (row.before["groups"], row.after["groups"]) == ([], ["ops"])
    assert row.target_id == str(dave.pk) and row.actor_username == "admin"


@pytest.mark.django_db
def test_team_changes_are_audited(admin_user, team):
    team.max_ttl_hours = 48
    services.team_save(origin=origin_of(admin_user), team=team)
    (row,) = rows("team.changed")
    assert (row.before["max_ttl_hours"], row.after["max_ttl_hours"]) == (720, 48) and row.team_slug == "demo"


# --- The Django admin's own pages -----------------------------------------------------------------


@pytest.mark.django_db
def test_admin_granting_approver_in_the_team_page_is_audited(client, admin_user, team, alice):
    client.force_login(admin_user)
    membership = Membership.objects.get(user=alice, team=team)
    response = client.post(
        reverse("admin:accounts_team_change", args=[team.pk]),
        {
            "slug": "demo", "name": "Demo team", "default_ttl_hours": 72, "max_ttl_hours": 720,
            "memberships-TOTAL_FORMS": 2, "memberships-INITIAL_FORMS": 1,
            "memberships-MIN_NUM_FORMS": 0, "memberships-MAX_NUM_FORMS": 1000,
            "memberships-0-id": membership.pk, "memberships-0-team": team.pk,
            "memberships-0-user": alice.pk, "memberships-0-role": TeamRole.APPROVER,
            "memberships-1-team": team.pk, "memberships-1-user": admin_user.pk, "memberships-1-role": TeamRole.APPROVER,
        },
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 302, response.content.decode()[:2000]

    (changed,) = rows("membership.role_changed")
    assert (changed.before["role"], changed.after["role"]) == ("member", "approver")
    (added,) = rows("membership.added")
    assert added.after == {"user": "admin", "team": "demo", "role": "approver"}
    assert {changed.actor_username, added.actor_username} == {"admin"}
    assert changed.source == "web" and changed.ip_address == "10.1.2.3"
    assert not rows("team.changed")  # the team's own fields did not change


@pytest.mark.django_db
def test_admin_removing_a_member_in_the_team_page_is_audited(client, admin_user, team, alice):
    client.force_login(admin_user)
    membership = Membership.objects.get(user=alice, team=team)
    response = client.post(
        reverse("admin:accounts_team_change", args=[team.pk]),
        {
            "slug": "demo", "name": "Demo team", "default_ttl_hours": 72, "max_ttl_hours": 720,
            "memberships-TOTAL_FORMS": 1, "memberships-INITIAL_FORMS": 1,
            "memberships-MIN_NUM_FORMS": 0, "memberships-MAX_NUM_FORMS": 1000,
            "memberships-0-id": membership.pk, "memberships-0-team": team.pk,
            "memberships-0-user": alice.pk, "memberships-0-role": TeamRole.MEMBER, "memberships-0-DELETE": "on",
        },
    )
    assert response.status_code == 302
    (removed,) = rows("membership.removed")
    assert removed.before == {"user": "alice", "team": "demo", "role": "member"}
    assert not Membership.objects.filter(pk=membership.pk).exists()


@pytest.mark.django_db
def test_admin_deleting_a_team_is_audited(client, admin_user, other_team):
    client.force_login(admin_user)
    response = client.post(reverse("admin:accounts_team_delete", args=[other_team.pk]), {"post": "yes"})
    assert response.status_code == 302
    (deleted,) = rows("team.deleted")
    assert deleted.before["slug"] == "other" and not Team.objects.filter(slug="other").exists()


@pytest.mark.django_db
def test_admin_user_page_superuser_flag_and_deactivation_are_audited(client, admin_user, make_user):
    dave = make_user("dave")
    client.force_login(admin_user)
    url = reverse("admin:accounts_user_change", args=[dave.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "username": "dave", "email": "dave@example.test", "first_name": "", "last_name": "",
            "is_superuser": "on", "is_staff": "on", "global_role": GlobalRole.AUDITOR,  # is_active unticked
            "date_joined_0": "2026-01-01", "date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""

    (row,) = rows("user.changed")
    assert (row.before["is_superuser"], row.after["is_superuser"]) == (False, True)
    assert (row.before["is_active"], row.after["is_active"]) == (True, False)
    assert (row.before["global_role"], row.after["global_role"]) == ("", "auditor")
    assert row.actor_username == "admin" and row.source == "web"


@pytest.mark.django_db
def test_admin_adding_a_user_is_audited(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:accounts_user_add"),
        {"username": "frank", "usable_password": "true", "password1": "an-unguessable-pass-42", "password2": "an-unguessable-pass-42"},
    )
    assert response.status_code == 302
    (row,) = rows("user.created")
    assert row.before is None and row.after["username"] == "frank" and row.after["is_superuser"] is False


@pytest.mark.django_db
def test_admin_password_change_is_audited_and_revokes_tokens(client, admin_user, make_user):
    dave = make_user("dave")
    key = services.api_token_issue(user=dave)
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:auth_user_password_change", args=[dave.pk]),
        {"usable_password": "true", "password1": "a-new-unguessable-9", "password2": "a-new-unguessable-9"},
    )
    assert response.status_code == 302

    dave.refresh_from_db()
    assert dave.check_password("a-new-unguessable-9")
    (row,) = rows("user.password_changed")
    assert row.actor_username == "admin" and row.target_id == str(dave.pk)
    assert services.api_token_authenticate(key) is None
    assert rows("api_token.revoked")[0].details == {"reason": "password changed"}


@pytest.mark.django_db
def test_admin_deleting_a_user_is_audited(client, admin_user, make_user, team):
    dave = make_user("dave", team=team, role=TeamRole.APPROVER)
    client.force_login(admin_user)
    response = client.post(reverse("admin:accounts_user_delete", args=[dave.pk]), {"post": "yes"})
    assert response.status_code == 302
    (row,) = rows("user.deleted")
    assert row.before["username"] == "dave" and row.before["memberships"] == [{"user": "dave", "team": "demo", "role": "approver"}]


@pytest.mark.django_db
def test_admin_revokes_tokens_through_the_service_and_cannot_add_or_delete_them(client, admin_user, make_user):
    dave = make_user("dave")
    key = services.api_token_issue(user=dave)
    client.force_login(admin_user)
    token = ApiToken.objects.get(user=dave)
    response = client.post(
        reverse("admin:accounts_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    assert services.api_token_authenticate(key) is None
    (row,) = rows("api_token.revoked")
    assert row.actor_username == "admin" and row.after["token_prefix"] == token.prefix
    assert client.get(reverse("admin:accounts_apitoken_add")).status_code == 403
    assert client.get(reverse("admin:accounts_apitoken_delete", args=[token.pk])).status_code == 403


# --- Management commands --------------------------------------------------------------------------


@pytest.mark.django_db
def test_issue_token_command_is_audited(alice):
    out = StringIO()
    call_command("issue_token", "alice", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    assert services.api_token_authenticate(key) == alice
    (row,) = rows("api_token.issued")
    assert row.source == "shell" and row.after["user"] == "alice" and row.after["expires_at"]


@pytest.mark.django_db
def test_demo_setup_audits_users_memberships_and_passwords():
    call_command("demo_setup", "--password", "demo-password-for-tests", stdout=StringIO())
    assert {row.after["username"] for row in rows("user.created")} == {"alice", "bob", "carol", "admin"}
    assert {(row.after["user"], row.after["role"]) for row in rows("membership.added")} == {
        ("alice", "member"), ("bob", "approver"),
    }
    assert len(rows("user.password_changed")) == 4 and rows("team.created")[0].after["slug"] == "demo"
    assert User.objects.get(username="bob").check_password("demo-password-for-tests")

    call_command("demo_setup", "--password", "demo-password-for-tests", stdout=StringIO())  # again: only passwords
    assert len(rows("user.created")) == 4 and len(rows("membership.added")) == 2 and len(rows("user.password_changed")) == 8


@pytest.mark.django_db
def test_demo_setup_takes_the_password_from_the_environment_and_make_run_passes_no_argument(monkeypatch):
    import importlib.util
    from pathlib import Path

    monkeypatch.setenv("WLPANEL_DEMO_PASSWORD", "from-the-environment-1")
    call_command("demo_setup", stdout=StringIO())
    assert User.objects.get(username="alice").check_password("from-the-environment-1")

    path = Path(__file__).resolve().parents[2] / "scripts" / "run.py"
    spec = importlib.util.spec_from_file_location("wlpanel_run_script_for_tokens", path)
    run_script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_script)
    calls = []
    monkeypatch.setattr(run_script.subprocess, "run", lambda args, **kwargs: calls.append((args, kwargs["env"])))
    run_script.demo_setup({"WLPANEL_DEMO_PASSWORD": "from-the-environment-1"})
    ((args, env),) = calls
    assert "from-the-environment-1" not in " ".join(args) and "--password" not in args
    assert env["WLPANEL_DEMO_PASSWORD"] == "from-the-environment-1"


@pytest.mark.django_db
def test_admin_bulk_delete_of_teams_is_audited_per_team(client, admin_user, team, other_team):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:accounts_team_changelist"),
        {"action": "delete_selected", "_selected_action": [team.pk, other_team.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert sorted(row.before["slug"] for row in rows("team.deleted")) == ["demo", "other"]
    assert not Team.objects.exists()
