"""Approval policies, team limits and cost, applied to requests (the data: `policies`; the
evaluator: `policies.evaluator`, pure; the prices: `pricing`).

At request: the policy's verdict (which rule, how many distinct approvers, why) and the approval
window are stored on the request, and the team's limits are checked (budget, live environments,
instance types, TTL). At each approval: the limits again, the policy again (the stricter verdict
stands), then the approval is recorded; the last one required approves the request. Beat expires
pending requests whose window passed.
"""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Team
from audit.context import Origin
from notify import services as notifications
from policies import evaluator
from policies.selectors import limits_current, policy_current
from pricing.selectors import PriceBook

from .choices import ENVIRONMENT_TERMINAL_STATES, RequestState
from .exceptions import Conflict
from .models import Environment, EnvironmentRequest, RequestApproval


def verdict(*, team: Team, plan: dict, ttl_hours: int, book: PriceBook | None = None) -> dict:
    """The team's current policy evaluated for a plan (its estimated hourly cost) and TTL."""
    cost = (book or PriceBook()).cost(plan, hours=ttl_hours)
    return evaluator.evaluate(policy_current(team), hourly_cost=cost["hourly"], ttl_hours=ttl_hours)


def committed_monthly(team: Team, *, book: PriceBook, exclude_request_id: int | None = None) -> tuple[float, int]:
    """Estimated monthly spend of the team's live (approved, not destroyed) environments, and their number."""
    live = Environment.objects.filter(team=team).exclude(state__in=list(ENVIRONMENT_TERMINAL_STATES))
    if exclude_request_id is not None:
        live = live.exclude(request_id=exclude_request_id)
    total = Decimal(0)
    count = 0
    for plan in live.values_list("plan", flat=True):
        count += 1
        monthly = book.cost(plan, hours=0)["monthly"]
        if monthly is not None:  # an environment without price adds nothing it can be charged with
            total += Decimal(str(monthly))
    return float(total), count


def limit_errors(*, team: Team, plan: dict, instance_type: str, ttl_hours: int) -> dict[str, list[str]]:
    """The team's limits checked for one more environment of this plan; {field: [messages]}."""
    limits = limits_current(team)
    if not limits:
        return {}
    book = PriceBook()
    committed, live = committed_monthly(team, book=book)
    return evaluator.limit_errors(
        limits,
        team=team.slug,
        instance_type=instance_type,
        ttl_hours=ttl_hours,
        monthly_cost=book.cost(plan, hours=0)["monthly"],
        committed_monthly=committed,
        live_environments=live,
    )


def policy_fields(*, team: Team, plan: dict, ttl_hours: int, now=None) -> dict:
    """What a new request stores: the verdict and when its approval window closes."""
    now = now or timezone.now()
    judged = verdict(team=team, plan=plan, ttl_hours=ttl_hours)
    window = judged["window_hours"]
    return {"policy": judged, "approval_expires_at": now + timedelta(hours=window) if window else None}


def approval_record(*, origin: Origin, request: EnvironmentRequest, comment: str, now=None) -> dict:
    """Record the caller's approval of a locked pending request; return the progress.

    Raises Conflict when the window has passed, the caller already approved, or the team's limits
    no longer allow it. The caller (the approve service) approves the request when `complete`.
    """
    now = now or timezone.now()
    if request.approval_expires_at is not None and request.approval_expires_at <= now:
        raise Conflict(
            f"The approval window closed at {request.approval_expires_at:%Y-%m-%d %H:%M} UTC: the request "
            "can no longer be approved; ask for a new one."
        )
    if request.approvals.filter(approver=origin.user).exists():
        raise Conflict("You have already approved this request: another approver of the team must.")
    errors = limit_errors(team=request.team, plan=request.plan, instance_type=request.instance_type, ttl_hours=request.ttl_hours)
    if errors:
        raise Conflict(" ".join(message for messages in errors.values() for message in messages))
    stored = request.policy or evaluator.evaluate(None, hourly_cost=None, ttl_hours=request.ttl_hours)
    current = verdict(team=request.team, plan=request.plan, ttl_hours=request.ttl_hours)
    judged = evaluator.escalate(stored, current)
    if judged is not stored:
        origin.record(action="request.policy_escalated", target=request, before=stored, after=judged)
        request.policy = judged
        request.save(update_fields=["policy"])
    RequestApproval.objects.create(request=request, approver=origin.user, plan_hash=request.plan_hash, comment=comment)
    # Only approvals of this exact plan count (each approval records the hash it was given for).
    approvers = list(request.approvals.filter(plan_hash=request.plan_hash).order_by("id").values_list("approver_id", flat=True))
    progress = evaluator.approval_progress(
        required=judged["approvals_required"], approver_ids=approvers, requester_id=request.requester_id
    )
    if not progress["complete"]:
        # The last approval is the `request.approved` row the approve service writes; earlier ones are these.
        origin.record(
            action="request.approval_recorded",
            target=request,
            after={"approvals": progress["approvals"], "approvals_required": judged["approvals_required"], "plan_hash": request.plan_hash},
            details={"comment": comment, "rule": judged["rule"], "policy_version": judged.get("version")},
        )
        notifications.notify(
            users=[request.requester],
            verb="request.approval_recorded",
            message=(
                f"{origin.user.get_username()} approved {request} ({progress['approvals']} of "
                f"{judged['approvals_required']}); waiting for another approver."
            ),
            link=f"/requests/{request.pk}/",
        )
    return progress


def policy_data(request: EnvironmentRequest) -> dict:
    """The `policy` of DESIGN section 6 for a request: rule, approvals required and given, expiry."""
    judged = request.policy or {}
    return {
        "rule": judged.get("rule", evaluator.DEFAULT_RULE),
        "approvals_required": judged.get("approvals_required", evaluator.FOUR_EYES_MINIMUM),
        "reasons": judged.get("reasons", []),
        "version": judged.get("version", 0),
        "approvals": [
            {"approver": approval.approver.get_username(), "at": approval.created_at.isoformat(), "comment": approval.comment}
            for approval in request.approvals.all()
        ],
        "expires_at": request.approval_expires_at.isoformat() if request.approval_expires_at else None,
    }


def preview_policy(*, team: Team, plan: dict, ttl_hours: int, instance_type: str) -> dict:
    """The policy and limits as the plan preview shows them, before the request exists."""
    judged = verdict(team=team, plan=plan, ttl_hours=ttl_hours)
    window = judged["window_hours"]
    return {
        "rule": judged["rule"],
        "approvals_required": judged["approvals_required"],
        "reasons": judged["reasons"],
        "version": judged["version"],
        "approvals": [],
        "expires_at": None,
        "window_hours": window,
        "limit_errors": [
            message
            for messages in limit_errors(team=team, plan=plan, instance_type=instance_type, ttl_hours=ttl_hours).values()
            for message in messages
        ],
    }


def requests_expire(*, origin: Origin, now=None) -> int:
    """Pending requests past their approval window become `expired` (beat); the number expired."""
    now = now or timezone.now()
    due = EnvironmentRequest.objects.filter(state=RequestState.PENDING, approval_expires_at__lte=now).values_list("pk", flat=True)
    expired = 0
    for request_id in list(due):
        with transaction.atomic():
            request = (
                EnvironmentRequest.objects.select_for_update().select_related("team", "requester").filter(pk=request_id).first()
            )
            if request is None or request.state != RequestState.PENDING:
                continue  # decided meanwhile
            request.state = RequestState.EXPIRED
            request.decided_at = now
            request.save(update_fields=["state", "decided_at"])
            origin.record(
                action="request.expired",
                target=request,
                team_slug=request.team.slug,
                before={"state": RequestState.PENDING},
                after={"state": RequestState.EXPIRED},
                details={"approval_expires_at": request.approval_expires_at.isoformat()},
            )
            notifications.notify(
                users=[request.requester],
                verb="request.expired",
                message=f"{request} expired unapproved; ask again if you still need it.",
                link=f"/requests/{request.pk}/",
            )
            expired += 1
    return expired
