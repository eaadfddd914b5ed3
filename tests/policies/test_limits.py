"""Team limits: budget, live environments, instance types, TTL; at request and again at approval."""

import pytest

from audit.models import AuditEvent
from environments import services
from environments.exceptions import Conflict, ValidationError
from pricing.selectors import plan_cost
from tests.conftest import origin_of


@pytest.fixture
def limits(admin_user, team):
    from policies.models import TeamLimits
    from policies.services import team_limits_save

    def set_limits(**values):
        current = TeamLimits.objects.filter(team=team).first() or TeamLimits(team=team)
        for name, value in values.items():
            setattr(current, name, value)
        return team_limits_save(origin=origin_of(admin_user), limits=current)

    return set_limits


def test_a_budget_exceeding_request_is_refused_with_the_numbers(prices, limits, make_request, make_environment, alice):
    first = make_environment(alice, name="edge-1", instance_type="t3.medium")
    monthly = plan_cost(first.plan, hours=0)["monthly"]
    assert monthly > 0
    limits(monthly_budget_usd=round(monthly * 1.5, 2))

    with pytest.raises(ValidationError) as refused:
        make_request(alice, name="edge-2", instance_type="t3.medium")
    [message] = refused.value.message_dict["__all__"]
    assert f"${monthly * 1.5:.2f}" in message  # the budget
    assert f"${monthly:.2f} a month" in message  # what the live environments cost
    assert f"total ${monthly * 2:.2f}" in message  # what it would come to
    assert "over" in message


def test_the_api_refuses_it_with_400_and_the_message(prices, limits, alice, zone, client):
    limits(monthly_budget_usd=1)
    client.force_login(alice)
    answer = client.post(
        "/api/requests", {"name": "edge-api", "team": "demo", "zone": zone.name, "instance_type": "t3.medium"}, content_type="application/json"
    )
    assert answer.status_code == 400
    assert "monthly budget of $1.00" in str(answer.json())


def test_instance_types_live_environments_and_ttl(prices, limits, make_request, make_environment, alice):
    limits(instance_types=["t3.medium"], max_ttl_hours=48, max_live_environments=1)
    with pytest.raises(ValidationError) as refused:
        make_request(alice, name="edge-big", instance_type="t3.xlarge", ttl_hours=72)
    assert refused.value.message_dict["instance_type"] == ["Team demo allows only these instance types: t3.medium (asked: t3.xlarge)."]
    assert refused.value.message_dict["ttl_hours"] == ["Team demo allows at most 48 hours (asked: 72)."]
    make_environment(alice, name="edge-1", instance_type="t3.medium", ttl_hours=24)
    with pytest.raises(ValidationError, match="at most 1 live environments; it has 1"):
        make_request(alice, name="edge-2", instance_type="t3.medium", ttl_hours=24)


def test_limits_are_checked_again_at_approval(prices, limits, make_request, make_environment, alice, bob):
    waiting = make_request(alice, name="edge-waiting", instance_type="t3.medium")
    make_environment(alice, name="edge-live", instance_type="t3.medium")  # approved meanwhile
    limits(max_live_environments=1)
    with pytest.raises(Conflict, match="at most 1 live environments"):
        services.environment_request_approve(origin=origin_of(bob), request_id=waiting.pk, plan_hash=waiting.plan_hash)
    waiting.refresh_from_db()
    assert waiting.state == "pending" and waiting.approvals.count() == 0


def test_limit_changes_are_audited_with_before_and_after(limits, team):
    limits(monthly_budget_usd=100)
    limits(monthly_budget_usd=250)
    event = AuditEvent.objects.filter(action="limits.changed").latest("id")
    assert event.actor_username == "admin" and event.team_slug == team.slug
    assert event.before["monthly_budget_usd"] == "100.00" and event.after["monthly_budget_usd"] == "250.00"


def test_admins_edit_limits_and_policies_in_the_admin(admin_user, team, client):
    from policies.models import ApprovalPolicy, TeamLimits

    client.force_login(admin_user)
    answer = client.post(
        "/admin/policies/teamlimits/add/",
        {"team": team.pk, "monthly_budget_usd": "300", "max_live_environments": "", "instance_types": "[]", "max_ttl_hours": ""},
    )
    assert answer.status_code == 302, answer.content.decode()[:3000]
    assert TeamLimits.objects.get(team=team).monthly_budget_usd == 300
    assert AuditEvent.objects.filter(action="limits.changed", actor_username="admin").exists()

    rules = '[{"name": "long", "approvals_required": 2, "min_ttl_hours": 168}]'
    for _ in range(2):
        answer = client.post(
            "/admin/policies/approvalpolicy/add/",
            {"team": team.pk, "default_approvals": "1", "approval_window_hours": "48", "rules": rules},
        )
        assert answer.status_code == 302, answer.content.decode()[:3000]
    assert list(ApprovalPolicy.objects.filter(team=team).values_list("version", flat=True)) == [2, 1]
    refused = client.post(
        "/admin/policies/approvalpolicy/add/", {"team": team.pk, "default_approvals": "0", "approval_window_hours": "", "rules": "[]"}
    )
    assert refused.status_code == 200 and ApprovalPolicy.objects.filter(team=team).count() == 2
