"""Who may do what (docs/api.md, "Roles" and "States"). Services enforce these; templates use them to show actions."""

from accounts.choices import TeamRole
from accounts.selectors import team_role

from .choices import EnvironmentState, RequestState
from .selectors import viewer_role


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


_LOOK_UP = object()  # the role argument's default: ask the database


def _owner_or_team_approver(user, environment, role=_LOOK_UP) -> bool:
    if environment.owner_id == user.pk:
        return True
    if role is _LOOK_UP:
        role = viewer_role(user, environment)
    return role == TeamRole.APPROVER


def can_destroy(user, environment, role=_LOOK_UP) -> bool:
    if environment.state not in (
        EnvironmentState.PROVISIONING,
        EnvironmentState.READY,
        EnvironmentState.FAILED,
        EnvironmentState.DESTROY_FAILED,
    ):
        return False
    return user.is_superuser or _owner_or_team_approver(user, environment, role)


def can_extend(user, environment, role=_LOOK_UP) -> bool:
    live = environment.state in (EnvironmentState.PROVISIONING, EnvironmentState.READY, EnvironmentState.FAILED)
    return live and _owner_or_team_approver(user, environment, role)


def can_retry(user, environment) -> bool:
    retryable = environment.state in (EnvironmentState.FAILED, EnvironmentState.DESTROY_FAILED)
    return retryable and environment.owner_id == user.pk


# Between operations only: while a build or teardown runs, its steps are the ones describing AWS.
REFRESHABLE_STATES = frozenset({EnvironmentState.READY, EnvironmentState.FAILED, EnvironmentState.DESTROY_FAILED})


def can_refresh(user, environment, role=_LOOK_UP) -> bool:
    return environment.state in REFRESHABLE_STATES and may_refresh(user, environment, role)


def may_refresh(user, environment, role=_LOOK_UP) -> bool:
    """Refresh only re-reads AWS into the cache; the team's approvers and admins may too."""
    return (
        user.is_superuser or _owner_or_team_approver(user, environment, role)
    )


def environment_actions(user, environment) -> dict[str, bool]:
    """Every action on the environment the user may take (the detail page), with one role lookup;
    `may_request`: they may ask for another environment in its team."""
    role = viewer_role(user, environment)
    return {
        "may_request": role is not None,
        "can_destroy": can_destroy(user, environment, role),
        "can_extend": can_extend(user, environment, role),
        "can_retry": can_retry(user, environment),
        "can_refresh": can_refresh(user, environment, role),
    }
