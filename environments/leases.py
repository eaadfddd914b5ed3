"""The TTL as a lease (docs/api.md, "States"): how far an environment may be extended on its own, and
extension requests beyond the team's maximum, which an approver of the team decides (four eyes,
audited). The plain extension is `services.environment_extend`; expiry warnings are in
`provisioning.expiry`."""

from datetime import timedelta

from django.db import transaction
from django.http import Http404
from django.utils import timezone

from accounts.choices import TeamRole
from accounts.models import Membership
from accounts.selectors import is_team_approver
from audit.context import Origin
from notify import services as notifications

from . import permissions
from .choices import EnvironmentState, RequestState
from .exceptions import Conflict, PermissionDenied, ValidationError
from .models import Environment, ExtensionRequest
from .selectors import environment_get_visible

MAX_EXTENSION_HOURS = 24 * 365
LIVE_STATES = (EnvironmentState.PROVISIONING, EnvironmentState.READY, EnvironmentState.FAILED)


def extension_hours_allowed(environment: Environment, *, now=None) -> int:
    """The most whole hours its owner may extend it by without an approver (the team's maximum)."""
    now = now or timezone.now()
    remaining = max(environment.expires_at, now) - now
    allowed = timedelta(hours=environment.team.max_ttl_hours) - remaining
    return max(int(allowed.total_seconds() // 3600), 0)


def extension_offer(environment: Environment, *, now=None, hours: int = 24) -> dict:
    """The one-click follow-up of an expiry warning: extend within the maximum, or ask an approver."""
    link = f"/environments/{environment.pk}/extend/"
    allowed = min(hours, extension_hours_allowed(environment, now=now))
    if allowed >= 1:
        return {"label": f"Extend by {allowed} h", "link": f"{link}?hours={allowed}"}
    return {"label": "Ask an approver to keep it longer", "link": link}


def _locked(origin: Origin, environment_id: int) -> Environment:
    environment_get_visible(origin.user, environment_id)  # 404 outside the caller's teams
    return Environment.objects.select_for_update().select_related("team", "owner").get(pk=environment_id)


def extension_request_create(*, origin: Origin, environment_id: int, hours: int, reason: str = "") -> ExtensionRequest:
    """Ask the team's approvers to keep the environment longer than the team's maximum allows."""
    with transaction.atomic():
        environment = _locked(origin, environment_id)
        if not permissions.can_extend(origin.user, environment):
            if environment.state not in LIVE_STATES:
                raise Conflict(f"The environment is {environment.state}; there is nothing to extend.")
            raise PermissionDenied("Only the owner or an approver of the team may ask to extend it.")
        if not isinstance(hours, int) or not 1 <= hours <= MAX_EXTENSION_HOURS:
            raise ValidationError({"hours": [f"Give a whole number of hours from 1 to {MAX_EXTENSION_HOURS}."]})
        if not isinstance(reason, str) or len(reason) > 500:
            raise ValidationError({"reason": ["Give a reason of at most 500 characters."]})
        if hours <= extension_hours_allowed(environment):
            raise ValidationError({"hours": ["That is within the team's maximum: extend it directly."]})
        if environment.extension_requests.filter(state=RequestState.PENDING).exists():
            raise Conflict("An extension request for it is already waiting for an approver.")
        extension = ExtensionRequest.objects.create(
            environment=environment, requested_by=origin.user, hours=hours, reason=reason
        )
        origin.record(
            action="environment.extension_requested",
            target=environment,
            after={"hours": hours, "extension_request_id": extension.pk},
            details={"reason": reason},
        )
        approvers = Membership.objects.filter(team=environment.team, role=TeamRole.APPROVER).exclude(user=origin.user)
        notifications.notify(
            users=[membership.user for membership in approvers.select_related("user")],
            verb="environment.extension_requested",
            message=f"{origin.user.get_username()} asks to keep {environment} {hours} h longer than the team's maximum: {reason or 'no reason given'}"[:500],
            link=f"/environments/{environment.pk}/extend/",
            team=environment.team,
        )
    return extension


def _require_an_approver(user) -> None:
    """Extension requests are decided by approvers: anyone else is refused before any lookup."""
    if not Membership.objects.filter(user=user, role=TeamRole.APPROVER).exists():
        raise PermissionDenied("Only approvers of the environment's team decide extension requests.")


def extension_request_environment_id(*, user, extension_id: int) -> int:
    """The environment an extension request is about, for an approver who may see it (else 403/404)."""
    _require_an_approver(user)
    environment_id = ExtensionRequest.objects.filter(pk=extension_id).values_list("environment_id", flat=True).first()
    if environment_id is None:
        raise Http404("No such extension request.")
    return environment_get_visible(user, environment_id).pk


def _decide(origin: Origin, extension_id: int, verb: str) -> tuple[ExtensionRequest, Environment]:
    _require_an_approver(origin.user)
    extension = ExtensionRequest.objects.select_for_update().filter(pk=extension_id).first()
    if extension is None:
        raise Http404("No such extension request.")
    environment = _locked(origin, extension.environment_id)
    if extension.state != RequestState.PENDING:
        raise Conflict(f"The extension request is already {extension.state}.")
    if extension.requested_by_id == origin.user.pk:
        raise PermissionDenied(f"You cannot {verb} your own extension request: another approver of {environment.team.slug} must.")
    if not is_team_approver(user=origin.user, team=environment.team):
        raise PermissionDenied(f"Only approvers of team {environment.team.slug} may {verb} extension requests.")
    extension.decided_by, extension.decided_at = origin.user, timezone.now()
    return extension, environment


def extension_request_approve(*, origin: Origin, extension_id: int, comment: str = "") -> ExtensionRequest:
    with transaction.atomic():
        extension, environment = _decide(origin, extension_id, "approve")
        if environment.state not in LIVE_STATES:
            raise Conflict(f"The environment is {environment.state}; there is nothing to extend.")
        before = environment.expires_at
        environment.expires_at = max(before, timezone.now()) + timedelta(hours=extension.hours)
        environment.expiry_warned_at = None
        environment.save(update_fields=["expires_at", "expiry_warned_at"])
        extension.state, extension.decision_comment = RequestState.APPROVED, comment[:500]
        extension.save(update_fields=["state", "decided_by", "decided_at", "decision_comment"])
        origin.record(
            action="environment.extension_approved",
            target=environment,
            before={"expires_at": before.isoformat()},
            after={"expires_at": environment.expires_at.isoformat()},
            details={"extension_request_id": extension.pk, "hours": extension.hours, "requested_by": extension.requested_by.get_username(), "comment": comment[:500]},
        )
        notifications.notify(
            users=[extension.requested_by],
            verb="environment.extension_decided",
            message=f"{origin.user.get_username()} approved keeping {environment} {extension.hours} h longer: it now expires {environment.expires_at:%Y-%m-%d %H:%M} UTC.",
            link=f"/environments/{environment.pk}/",
            team=environment.team,
        )
    return extension


def extension_request_reject(*, origin: Origin, extension_id: int, comment: str = "") -> ExtensionRequest:
    with transaction.atomic():
        extension, environment = _decide(origin, extension_id, "reject")
        extension.state, extension.decision_comment = RequestState.REJECTED, comment[:500]
        extension.save(update_fields=["state", "decided_by", "decided_at", "decision_comment"])
        origin.record(
            action="environment.extension_rejected",
            target=environment,
            details={"extension_request_id": extension.pk, "hours": extension.hours, "requested_by": extension.requested_by.get_username(), "comment": comment[:500]},
        )
        notifications.notify(
            users=[extension.requested_by],
            verb="environment.extension_decided",
            message=f"{origin.user.get_username()} rejected keeping {environment} {extension.hours} h longer: {comment or 'no comment'}"[:500],
            link=f"/environments/{environment.pk}/",
            team=environment.team,
        )
    return extension
