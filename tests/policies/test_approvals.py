"""Approval policies applied: several distinct approvers, each approval recorded, expiry by beat."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.choices import Source
from audit.context import Origin
from audit.models import AuditEvent
from environments import services
from environments.approvals import requests_expire
from environments.exceptions import Conflict, PermissionDenied
from environments.models import Environment
from tests.conftest import origin_of


def _approve(user, request, **extra):
    return services.environment_request_approve(origin=origin_of(user), request_id=request.pk, plan_hash=request.plan_hash, **extra)


def test_above_the_threshold_two_distinct_approvers_never_the_requester(prices, two_above, make_request, alice, bob, erin, make_user, team):
    from accounts.choices import TeamRole

    request = make_request(alice, name="edge-long", ttl_hours=200)
    assert request.policy["rule"] == "costly or long" and request.policy["approvals_required"] == 2
    assert "expiry after 200 h ≥ 168 h" in request.policy["reasons"]

    with pytest.raises(PermissionDenied):
        _approve(alice, request)  # the requester, never

    assert _approve(bob, request, comment="looks right") is None
    request.refresh_from_db()
    assert request.state == "pending"
    assert [a.approver.username for a in request.approvals.all()] == ["bob"]
    recorded = AuditEvent.objects.filter(action="request.approval_recorded").latest("id")
    assert recorded.actor_username == "bob" and recorded.after["approvals"] == 1 and recorded.after["approvals_required"] == 2
    assert not Environment.objects.filter(request=request).exists()

    with pytest.raises(Conflict, match="already approved"):
        _approve(bob, request)  # the same approver twice is still one approval

    environment = _approve(erin, request)
    request.refresh_from_db()
    assert environment is not None and request.state == "approved" and request.decided_by == erin
    trail = list(AuditEvent.objects.filter(target_id=str(request.pk), action__startswith="request.").order_by("id").values_list("action", "actor_username"))
    assert trail == [("request.created", "alice"), ("request.approval_recorded", "bob"), ("request.approved", "erin")]
    assert [a.approver.username for a in request.approvals.all()] == ["bob", "erin"]

    # An approver who is also the requester of another request cannot count for it either.
    dave = make_user("dave", team=team, role=TeamRole.APPROVER)
    own = make_request(dave, name="edge-own", ttl_hours=200)
    with pytest.raises(PermissionDenied):
        _approve(dave, own)


def test_below_the_threshold_one_approval_approves(prices, two_above, make_request, alice, bob):
    request = make_request(alice, name="edge-short", instance_type="t3.medium", ttl_hours=24)
    assert request.policy["rule"] == "default" and request.policy["approvals_required"] == 1
    assert _approve(bob, request) is not None


def test_cost_above_the_threshold_needs_two(prices, two_above, make_request, alice, bob):
    request = make_request(alice, name="edge-gpu", instance_type="g4dn.2xlarge", ttl_hours=24)
    assert request.policy["rule"] == "costly or long"
    assert any("/h ≥ $0.50/h" in reason for reason in request.policy["reasons"])
    assert _approve(bob, request) is None


def test_a_pending_request_past_its_window_expires_and_cannot_be_approved(prices, two_above, make_request, alice, bob, erin):
    request = make_request(alice, name="edge-late", ttl_hours=200)
    assert request.approval_expires_at is not None
    assert _approve(bob, request) is None
    later = request.approval_expires_at + timedelta(minutes=1)

    assert requests_expire(origin=Origin.system(Source.BEAT), now=request.approval_expires_at - timedelta(minutes=1)) == 0
    request.refresh_from_db()
    assert request.state == "pending"

    assert requests_expire(origin=Origin.system(Source.BEAT), now=later) == 1
    request.refresh_from_db()
    assert request.state == "expired"
    assert AuditEvent.objects.filter(action="request.expired", target_id=str(request.pk), source="beat").exists()
    with pytest.raises(Conflict, match="already expired"):
        _approve(erin, request)


def test_an_approval_after_the_window_is_refused_even_before_beat_runs(prices, two_above, make_request, alice, bob):
    from environments.models import EnvironmentRequest

    request = make_request(alice, name="edge-window", ttl_hours=200)
    EnvironmentRequest.objects.filter(pk=request.pk).update(approval_expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(Conflict, match="approval window closed"):
        _approve(bob, request)
    request.refresh_from_db()
    assert request.state == "pending" and request.approvals.count() == 0


def test_policy_versions_are_added_and_audited(two_above, admin_user, team):
    from policies import services as policy_services
    from policies.models import ApprovalPolicy
    from policies.services import PolicyError

    second = policy_services.policy_version_add(
        origin=origin_of(admin_user), team=team, approval_window_hours=None, default_approvals=2, rules=[]
    )
    assert (two_above.version, second.version) == (1, 2)
    assert ApprovalPolicy.objects.get(pk=two_above.pk).rules  # the first version is kept unchanged
    event = AuditEvent.objects.filter(action="policy.changed").latest("id")
    assert event.actor_username == "admin" and event.before["version"] == 1 and event.after["default_approvals"] == 2
    with pytest.raises(PolicyError, match="four eyes"):
        policy_services.policy_version_add(origin=origin_of(admin_user), team=team, approval_window_hours=None, default_approvals=0, rules=[])


def test_pages_and_api_say_which_rule_applies_why_and_who_approved(prices, two_above, make_request, alice, bob, erin, client):
    request = make_request(alice, name="edge-shown", ttl_hours=200)
    _approve(bob, request, comment="fine by me")
    client.force_login(erin)
    page = client.get(f"/requests/{request.pk}/").content.decode()
    assert 'data-testid="policy-rule">costly or long<' in page
    assert "expiry after 200 h ≥ 168 h" in page
    assert "Approved so far (1 of 2)" in page and "<strong>bob</strong>" in page
    assert 'data-testid="decision"' in page  # erin may still approve
    client.force_login(bob)
    assert 'data-testid="decision"' not in client.get(f"/requests/{request.pk}/").content.decode()
    policy = client.get(f"/api/requests/{request.pk}").json()["policy"]
    assert policy["rule"] == "costly or long" and policy["approvals_required"] == 2
    assert [a["approver"] for a in policy["approvals"]] == ["bob"] and policy["expires_at"]


def test_the_api_approve_answers_pending_until_the_last_approval(prices, two_above, make_request, alice, bob, erin, client):
    from accounts.services import api_token_issue

    request = make_request(alice, name="edge-api2", ttl_hours=200)
    tokens = {user.username: api_token_issue(user=user) for user in (bob, erin)}
    first = client.post(
        f"/api/requests/{request.pk}/approve", {"plan_hash": request.plan_hash}, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tokens['bob']}",
    )
    assert first.status_code == 200, first.content
    assert first.json()["state"] == "pending" and first.json()["environment_id"] is None
    assert len(first.json()["policy"]["approvals"]) == 1
    second = client.post(
        f"/api/requests/{request.pk}/approve", {"plan_hash": request.plan_hash}, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {tokens['erin']}",
    )
    assert second.status_code == 200 and second.json()["state"] == "approved" and second.json()["environment_id"]


def test_preview_says_which_rule_would_apply(prices, two_above, alice, zone, team, client):
    client.force_login(alice)
    page = client.post(
        "/requests/new/preview/",
        {"team": team.slug, "name": "edge-pre", "zone": zone.name, "instance_type": "t3.medium", "bastion": "yes", "ttl_hours": 200,
         "vpc_cidr": "10.0.0.0/16", "public_subnet_cidr": "10.0.1.0/24", "wavelength_subnet_cidr": "10.0.0.0/24", "ingress_mode": "all"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert 'data-testid="policy-rule">costly or long<' in page and "within 24 hours" in page
