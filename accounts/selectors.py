"""Who may see what: the team scoping every page and endpoint goes through."""

from django.db.models import QuerySet

from wlpanel.compiled_query import CompiledQuery

from .choices import TeamRole
from .models import ApiToken, Membership, Team, User


def user_get(user_id) -> User | None:
    """The user a session names (read on every request), or None."""
    try:
        user_id = int(user_id)
    except (TypeError, ValueError):
        return None
    return _USER_BY_ID.first(user_id=user_id)


_USER_BY_ID = CompiledQuery(lambda user_id: User._default_manager.filter(pk=user_id), user_id=int)


def user_sees_all(user: User) -> bool:
    """Auditors and admins read every team's requests, environments and audit rows."""
    return user.is_superuser or user.is_auditor


def team_role(*, user: User, team: Team) -> str | None:
    """The user's role in the team (`member`, `approver`) or None."""
    return Membership.objects.filter(user=user, team=team).values_list("role", flat=True).first()


def teams_visible_to(user: User) -> QuerySet[Team]:
    if user_sees_all(user):
        return Team.objects.all()
    return Team.objects.filter(memberships__user=user)


def teams_visible_by_slug(user: User) -> list[Team]:
    """`teams_visible_to(user)` by slug, as a list (every list page's team filter reads it):
    compiled once per process."""
    return _ALL_TEAMS.all() if user_sees_all(user) else _TEAMS_OF_MEMBER.all(user_id=user.pk)


_ALL_TEAMS = CompiledQuery(lambda: Team.objects.order_by("slug"))
_TEAMS_OF_MEMBER = CompiledQuery(lambda user_id: Team.objects.filter(memberships__user=user_id).order_by("slug"), user_id=int)


def teams_requestable_by(user: User) -> QuerySet[Team]:
    """Teams where the user may request environments (members and approvers)."""
    return Team.objects.filter(memberships__user=user)


def is_team_approver(*, user: User, team: Team) -> bool:
    return Membership.objects.filter(user=user, team=team, role=TeamRole.APPROVER).exists()


def api_tokens_of(user: User) -> QuerySet[ApiToken]:
    """The user's API tokens, newest first, live ones included with revoked and expired ones."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")
