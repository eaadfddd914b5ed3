"""Who may run checks: the owner's team (members and approvers) and admins; not auditors."""

from accounts.selectors import team_role


def can_run_checks(user, environment) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_superuser or team_role(user=user, team=environment.team) is not None
