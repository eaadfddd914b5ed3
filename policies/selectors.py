"""Reads: a team's current policy and limits, as the plain data the evaluator takes."""

from accounts.models import Team

from .models import ApprovalPolicy, TeamLimits


def policy_current(team: Team) -> dict | None:
    policy = ApprovalPolicy.objects.filter(team=team).order_by("-version").first()
    return policy.as_data() if policy else None


def limits_current(team: Team) -> dict | None:
    limits = TeamLimits.objects.filter(team=team).first()
    return limits.as_data() if limits else None
