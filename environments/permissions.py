"""Who may do what (DESIGN section 5). Services enforce these; templates use them to show actions."""

from accounts.choices import TeamRole
from accounts.selectors import team_role

from .choices import EnvironmentState, RequestState


def can_request(user, team) -> bool:
    return team_role(user=user, team=team) is not None


def can_decide(user, request) -> bool:
    """Approve or reject: an approver of the team, never the requester (admins included)."""
    return (
        request.state == RequestState.PENDING
        and request.requester_id != user.pk
        and team_role(user=user, team=request.team) == TeamRole.APPROVER
    )


def can_cancel(user, request) -> bool:
    return request.state == RequestState.PENDING and request.requester_id == user.pk


def _owner_or_team_approver(user, environment) -> bool:
    return environment.owner_id == user.pk or team_role(user=user, team=environment.team) == TeamRole.APPROVER


def can_destroy(user, environment) -> bool:
    if environment.state not in (
        EnvironmentState.PROVISIONING,
        EnvironmentState.READY,
        EnvironmentState.FAILED,
        EnvironmentState.DESTROY_FAILED,
    ):
        return False
    return user.is_superuser or _owner_or_team_approver(user, environment)


def can_extend(user, environment) -> bool:
    live = environment.state in (EnvironmentState.PROVISIONING, EnvironmentState.READY, EnvironmentState.FAILED)
    return live and _owner_or_team_approver(user, environment)


def can_retry(user, environment) -> bool:
    retryable = environment.state in (EnvironmentState.FAILED, EnvironmentState.DESTROY_FAILED)
    return retryable and environment.owner_id == user.pk


def can_refresh(user, environment) -> bool:
    """Refresh only re-reads AWS into the cache; the team's approvers and admins may too."""
    return environment.state != EnvironmentState.DESTROYED and (
        user.is_superuser or _owner_or_team_approver(user, environment)
    )
