"""Writes of policies and limits: each change is a new policy version or a limits update, audited."""

from django.db import transaction
from django.db.models import Max

from accounts.models import Team
from audit.context import Origin

from .evaluator import policy_errors
from .models import ApprovalPolicy, TeamLimits


class PolicyError(ValueError):
    pass


def policy_version_add(*, origin: Origin, team: Team, approval_window_hours, default_approvals: int, rules: list) -> ApprovalPolicy:
    """Add the team's next policy version (versions are never edited: what a request was judged by stays)."""
    data = {"version": 0, "approval_window_hours": approval_window_hours, "default_approvals": default_approvals, "rules": rules}
    errors = policy_errors(data)
    if errors:
        raise PolicyError("; ".join(errors))
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=team.pk)  # versions are numbered one at a time
        previous = ApprovalPolicy.objects.filter(team=team).order_by("-version").first()
        version = (ApprovalPolicy.objects.filter(team=team).aggregate(v=Max("version"))["v"] or 0) + 1
        policy = ApprovalPolicy.objects.create(
            team=team,
            version=version,
            approval_window_hours=approval_window_hours,
            default_approvals=default_approvals,
            rules=rules,
            created_by=origin.user.get_username() if origin.user is not None else "",
        )
        origin.record(
            action="policy.changed",
            target=policy,
            team_slug=team.slug,
            before=previous.as_data() if previous else None,
            after=policy.as_data(),
        )
    return policy


def team_limits_save(*, origin: Origin, limits: TeamLimits) -> TeamLimits:
    """Save a team's limits (new or changed), with the before and after in the audit row."""
    with transaction.atomic():
        before = None
        if limits.pk:
            before = TeamLimits.objects.select_for_update().get(pk=limits.pk).as_data()
        limits.save()
        origin.record(
            action="limits.changed", target=limits, team_slug=limits.team.slug, before=before, after=limits.as_data()
        )
    return limits
