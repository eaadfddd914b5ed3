"""Single sign-on against a real OpenID Connect provider process (tests/sso/provider)."""

import time

import jwt
import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.exceptions import SuspiciousOperation

from accounts.choices import TeamRole
from accounts.models import Membership, User
from audit.models import AuditEvent
from sso.backends import ProviderBackend
from sso.models import GroupRule, Identity
from tests.conftest import PASSWORD, origin_of

from .conftest import OTHER_CLIENT_ID, SHORT_CLIENT_ID, outside_client_tokens, panel_login, provider_sign_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rules(team):
    GroupRule.objects.create(group="wl-demo-members", team=team, team_role=TeamRole.MEMBER)
    GroupRule.objects.create(group="wl-demo-approvers", team=team, team_role=TeamRole.APPROVER)
    GroupRule.objects.create(group="wl-auditors", global_role="auditor")
    GroupRule.objects.create(group="wl-admins", global_role="admin")


def test_first_login_creates_the_user_with_the_roles_of_their_groups(live_server, sso, rules, team):
    sso.set_account("dana", groups=["wl-demo-approvers", "unrelated"])
    _, home = panel_login(live_server, "dana")
    assert home.url == f"{live_server.url}/" and "dana" in home.text
    dana = User.objects.get(username="dana")
    assert not dana.has_usable_password() and dana.email == "dana@corp.example"
    assert Identity.objects.get(user=dana).issuer == sso.issuer
    assert Membership.objects.get(user=dana, team=team).role == TeamRole.APPROVER
    actions = list(AuditEvent.objects.filter(target_id=str(dana.pk)).order_by("id").values_list("action", "actor_id"))
    assert ("user.created", None) in actions and ("sso.roles_reconciled", None) in actions
    assert actions[-1] == ("user.logged_in", dana.pk)
    added = AuditEvent.objects.get(action="membership.added")
    assert added.actor_id is None and added.after["role"] == TeamRole.APPROVER
    reconciled = AuditEvent.objects.get(action="sso.roles_reconciled")
    assert reconciled.details["groups"] == ["wl-demo-approvers", "unrelated"]


def test_a_person_removed_from_a_group_loses_the_role_at_the_next_login(live_server, sso, rules, team):
    sso.set_account("erik", groups=["wl-demo-approvers", "wl-auditors"])
    panel_login(live_server, "erik")
    erik = User.objects.get(username="erik")
    assert erik.is_auditor and Membership.objects.get(user=erik).role == TeamRole.APPROVER

    sso.set_account("erik", groups=["wl-demo-members"])
    _, home = panel_login(live_server, "erik")
    erik.refresh_from_db()
    assert home.url == f"{live_server.url}/" and not erik.is_auditor
    assert Membership.objects.get(user=erik).role == TeamRole.MEMBER
    assert AuditEvent.objects.filter(action="membership.role_changed", actor_id=None).exists()

    sso.set_account("erik", groups=[])
    _, refused = panel_login(live_server, "erik")
    assert refused.url.startswith(f"{live_server.url}/login/") and "give you no role in wlpanel" in refused.text
    assert not Membership.objects.filter(user=erik).exists()
    assert AuditEvent.objects.filter(action="membership.removed", actor_id=None).exists()


def test_the_provider_can_deactivate_a_person(live_server, sso, rules, settings):
    settings.WLPANEL_OIDC_ACTIVE_CLAIM = "active"
    sso.set_account("fay", groups=["wl-demo-members"])
    panel_login(live_server, "fay")
    sso.set_account("fay", groups=["wl-demo-members"], active=False)
    _, refused = panel_login(live_server, "fay")
    assert "deactivated" in refused.text
    assert not User.objects.get(username="fay").is_active
    changes = AuditEvent.objects.filter(action="user.changed", target_id=str(User.objects.get(username="fay").pk))
    deactivated = [(e.actor_id, e.before["is_active"], e.after["is_active"]) for e in changes]
    assert (None, True, False) in deactivated, deactivated


def test_a_provider_login_never_takes_over_a_local_account(live_server, sso, rules, alice):
    sso.set_account("alice", groups=["wl-admins"])
    _, refused = panel_login(live_server, "alice")
    assert "already exists" in refused.text
    alice.refresh_from_db()
    assert not alice.is_superuser and not Identity.objects.filter(user=alice).exists()


def test_approval_past_the_reauth_age_goes_through_the_provider(live_server, sso, rules, settings, alice, team, zone):
    from environments.services import environment_request_create

    request = environment_request_create(
        origin=origin_of(alice), team=team, zone=zone, name="edge-1", instance_type="t3.medium"
    )
    sso.set_account("gus", groups=["wl-demo-approvers"])
    session, _ = panel_login(live_server, "gus")
    stored = SessionStore(session.cookies["sessionid"])
    stored["authenticated_at"] = int(time.time()) - settings.WLPANEL_REAUTH_SECONDS - 60
    stored.save()

    detail = session.get(f"{live_server.url}/requests/{request.pk}/")
    assert detail.status_code == 200 and "Approve" in detail.text
    page = session.post(
        f"{live_server.url}/requests/{request.pk}/approve/",
        data={"plan_hash": request.plan_hash, "comment": "", "csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": detail.url},
    )
    # The panel sent the browser to the provider, which asked for the password again (prompt=login).
    assert page.url.startswith(sso.issuer) and "Sign-in" in page.text
    back = provider_sign_in(session, page, "gus")
    assert back.url.startswith(f"{live_server.url}/requests/{request.pk}/")
    assert time.time() - SessionStore(session.cookies["sessionid"])["authenticated_at"] < 60
    assert AuditEvent.objects.filter(action="user.reauthenticated", actor_username="gus").exists()


def test_an_id_token_for_another_audience_is_refused(sso, rules, settings):
    sso.set_account("hal", groups=["wl-demo-members"])
    tokens = outside_client_tokens(sso, OTHER_CLIENT_ID, "hal")
    with pytest.raises(SuspiciousOperation, match="not for this panel"):
        ProviderBackend().verify_token(tokens["id_token"], nonce="n-123")
    # The same token passes where it is meant to go: what failed was the audience, nothing else.
    settings.OIDC_RP_CLIENT_ID = OTHER_CLIENT_ID
    assert ProviderBackend().verify_token(tokens["id_token"], nonce="n-123")["sub"] == "hal"


def test_an_expired_id_token_is_refused(sso, rules, settings):
    settings.OIDC_RP_CLIENT_ID = SHORT_CLIENT_ID
    sso.set_account("ida", groups=["wl-demo-members"])
    tokens = outside_client_tokens(sso, SHORT_CLIENT_ID, "ida")
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 1  # the provider's one-second tokens for this client
    time.sleep(2.1)
    with pytest.raises(jwt.ExpiredSignatureError):
        ProviderBackend().verify_token(tokens["id_token"], nonce="n-123")


def test_with_sso_only_admins_may_log_in_with_a_password(client, sso, alice, admin_user):
    refused = client.post("/login/", {"username": alice.username, "password": PASSWORD})
    assert refused.status_code == 200 and "_auth_user_id" not in client.session
    admitted = client.post("/login/", {"username": admin_user.username, "password": PASSWORD})
    assert admitted.status_code == 302 and client.session["_auth_user_id"] == str(admin_user.pk)


def test_the_login_page_offers_the_provider_and_break_glass(client, sso):
    page = client.get("/login/").content.decode()
    assert "Log in with Corp SSO" in page and "Break-glass login (admins only)" in page


def test_logout_ends_the_session_and_goes_on_to_the_providers_end_session(live_server, sso, rules):
    sso.set_account("jon", groups=["wl-demo-members"])
    session, home = panel_login(live_server, "jon")
    csrf = session.cookies["csrftoken"]
    response = session.post(f"{live_server.url}/logout/", data={"csrfmiddlewaretoken": csrf},
                            headers={"Referer": f"{live_server.url}/"}, allow_redirects=False)
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"{sso.issuer}/session/end?id_token_hint=")
    assert session.get(f"{live_server.url}/", allow_redirects=False).status_code == 302  # logged out
    assert AuditEvent.objects.filter(action="user.logged_out", actor_username="jon").exists()


def test_group_rules_changed_in_the_admin_are_audited(client, admin_user, team):
    client.force_login(admin_user)
    response = client.post(
        "/admin/sso/grouprule/add/", {"group": "wl-new", "team": team.pk, "team_role": "member", "global_role": ""}
    )
    assert response.status_code == 302, response.content[:500]
    event = AuditEvent.objects.get(action="sso.group_rule_added")
    assert event.actor_username == admin_user.username and event.after["group"] == "wl-new"


def test_a_rule_must_grant_exactly_one_thing(team):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        GroupRule(group="x", team=team, team_role="member", global_role="auditor").full_clean()
    with pytest.raises(ValidationError):
        GroupRule(group="x").full_clean()
