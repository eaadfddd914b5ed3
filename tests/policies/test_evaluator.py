"""The pure evaluator: policy and facts in, verdict out."""

from policies.evaluator import approval_progress, escalate, evaluate, limit_errors, policy_errors

POLICY = {
    "version": 3,
    "approval_window_hours": 48,
    "default_approvals": 1,
    "rules": [
        {"name": "long", "approvals_required": 2, "min_ttl_hours": 168},
        {"name": "costly", "approvals_required": 3, "min_hourly_usd": 2.0},
    ],
}


def test_below_every_threshold_the_default_applies():
    verdict = evaluate(POLICY, hourly_cost=0.1, ttl_hours=24)
    assert verdict == {
        "rule": "default", "approvals_required": 1, "reasons": ["no rule's threshold reached"], "window_hours": 48, "version": 3,
    }


def test_the_strictest_rule_that_applies_wins_and_says_why():
    assert evaluate(POLICY, hourly_cost=0.1, ttl_hours=200)["rule"] == "long"
    verdict = evaluate(POLICY, hourly_cost=2.5, ttl_hours=200)
    assert verdict["rule"] == "costly" and verdict["approvals_required"] == 3
    assert verdict["reasons"] == ["estimated $2.50/h ≥ $2.00/h"]


def test_an_unknown_cost_reaches_a_cost_threshold():
    verdict = evaluate(POLICY, hourly_cost=None, ttl_hours=1)
    assert verdict["rule"] == "costly" and "no price" in verdict["reasons"][0]


def test_four_eyes_cannot_be_switched_off():
    assert evaluate({"default_approvals": 0, "rules": []}, hourly_cost=0, ttl_hours=1)["approvals_required"] == 1
    assert any("four eyes" in error for error in policy_errors({"default_approvals": 0, "rules": []}))
    assert policy_errors({"rules": [{"name": "x", "approvals_required": 0, "min_ttl_hours": 1}]})
    assert policy_errors({"rules": [{"name": "no threshold", "approvals_required": 2}]})
    assert policy_errors(POLICY) == []


def test_progress_counts_distinct_approvers_never_the_requester():
    assert approval_progress(required=2, approver_ids=[7, 7], requester_id=1) == {"approvals": 1, "remaining": 1, "complete": False}
    assert approval_progress(required=2, approver_ids=[1, 7], requester_id=1)["complete"] is False
    assert approval_progress(required=2, approver_ids=[7, 8], requester_id=1)["complete"] is True
    assert approval_progress(required=0, approver_ids=[], requester_id=1)["complete"] is False


def test_escalation_keeps_the_stricter_verdict():
    low, high = evaluate(POLICY, hourly_cost=0.1, ttl_hours=1), evaluate(POLICY, hourly_cost=3, ttl_hours=1)
    assert escalate(low, high) is high and escalate(high, low) is high


def test_limits_name_the_numbers():
    limits = {"monthly_budget_usd": "100", "max_live_environments": 2, "instance_types": ["t3.medium"], "max_ttl_hours": 48}
    errors = limit_errors(
        limits, team="demo", instance_type="t3.xlarge", ttl_hours=72, monthly_cost=60.0, committed_monthly=50.0, live_environments=2
    )
    assert errors["instance_type"] == ["Team demo allows only these instance types: t3.medium (asked: t3.xlarge)."]
    assert errors["ttl_hours"] == ["Team demo allows at most 48 hours (asked: 72)."]
    assert "at most 2 live environments; it has 2" in errors["__all__"][0]
    assert "$100.00" in errors["__all__"][1] and "$50.00" in errors["__all__"][1] and "$60.00" in errors["__all__"][1]
    assert "$110.00" in errors["__all__"][1] and "$10.00 over" in errors["__all__"][1]
    assert limit_errors(limits, team="demo", instance_type="t3.medium", ttl_hours=24, monthly_cost=40.0, committed_monthly=50.0, live_environments=1) == {}
