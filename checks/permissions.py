"""Who may run checks: the owner's team (members and approvers) and admins; not auditors."""

from environments.selectors import viewer_role


def can_run_checks(user, environment) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_superuser or viewer_role(user, environment) is not None
