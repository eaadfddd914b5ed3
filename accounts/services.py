"""Every change of who may do what goes through here, and each writes an audit row (before → after).

Teams, memberships (add, role change, removal), users (creation, activation, global role,
superuser and staff flags, groups and permissions, deletion), passwords and API tokens. The
Django admin, the management commands and the pages call these; nothing else writes those rows.
A password change or a deactivation revokes the user's API tokens.
"""

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from audit.choices import Source
from audit.context import Origin

from .models import ApiToken, Membership, Team, User

# --- Snapshots: what an audit row shows before and after ------------------------------------------

TEAM_FIELDS = ("slug", "name", "default_ttl_hours", "max_ttl_hours")
USER_PRIVILEGE_FIELDS = ("username", "email", "is_active", "is_staff", "is_superuser", "global_role")


def team_snapshot(team: Team) -> dict[str, Any]:
    return {name: getattr(team, name) for name in TEAM_FIELDS}


def membership_snapshot(membership: Membership) -> dict[str, Any]:
    return {"user": membership.user.get_username(), "team": membership.team.slug, "role": membership.role}


def user_snapshot(user: User) -> dict[str, Any]:
    snapshot = {name: getattr(user, name) for name in USER_PRIVILEGE_FIELDS}
    if user.pk is not None:
        snapshot["groups"] = sorted(user.groups.values_list("name", flat=True))
        snapshot["permissions"] = sorted(
            f"{app}.{codename}" for app, codename in user.user_permissions.values_list("content_type__app_label", "codename")
        )
    return snapshot


def _changed(before: dict | None, after: dict | None) -> bool:
    return before != after


# --- Teams ----------------------------------------------------------------------------------------


def team_save(*, origin: Origin, team: Team) -> Team:
    """Create or update `team` as given (e.g. by the admin form); audited when something changed."""
    with transaction.atomic():
        stored = Team.objects.select_for_update().filter(pk=team.pk).first() if team.pk else None
        before = team_snapshot(stored) if stored else None
        team.save()
        after = team_snapshot(team)
        if _changed(before, after):
            origin.record(
                action="team.created" if before is None else "team.changed",
                target=team,
                team_slug=team.slug,
                before=before,
                after=after,
            )
    return team


def team_delete(*, origin: Origin, team: Team) -> None:
    with transaction.atomic():
        team = Team.objects.select_for_update().get(pk=team.pk)
        memberships = [membership_snapshot(m) for m in team.memberships.select_related("user", "team")]
        origin.record(
            action="team.deleted",
            target=team,
            team_slug=team.slug,
            before={**team_snapshot(team), "memberships": memberships},
        )
        team.delete()


# --- Memberships ----------------------------------------------------------------------------------


def membership_save(*, origin: Origin, membership: Membership) -> Membership:
    """Add a membership or change its role (or its user or team) as given; audited when changed."""
    with transaction.atomic():
        stored = (
            Membership.objects.select_for_update().select_related("user", "team").filter(pk=membership.pk).first()
            if membership.pk
            else None
        )
        before = membership_snapshot(stored) if stored else None
        membership.save()
        after = membership_snapshot(membership)
        if _changed(before, after):
            action = "membership.added" if before is None else "membership.role_changed"
            if before is not None and (before["user"], before["team"]) != (after["user"], after["team"]):
                action = "membership.changed"
            origin.record(action=action, target=membership, before=before, after=after)
    return membership


def membership_set(*, origin: Origin, team: Team, user: User, role: str) -> Membership:
    """Make `user` a `role` of `team`, adding the membership if there is none."""
    membership = Membership.objects.filter(team=team, user=user).first() or Membership(team=team, user=user)
    membership.role = role
    return membership_save(origin=origin, membership=membership)


def membership_remove(*, origin: Origin, membership: Membership) -> None:
    with transaction.atomic():
        # As stored: the caller's copy may carry unsaved edits (an admin row both edited and deleted).
        stored = Membership.objects.select_for_update().select_related("user", "team").get(pk=membership.pk)
        origin.record(action="membership.removed", target=stored, before=membership_snapshot(stored))
        stored.delete()


# --- Users ----------------------------------------------------------------------------------------


def user_save(
    *,
    origin: Origin,
    user: User,
    groups: list[Group] | None = None,
    permissions: list[Permission] | None = None,
) -> User:
    """Create or update `user` as given (privileges included); audited when a privilege changed.

    Deactivating a user revokes their API tokens.
    """
    with transaction.atomic():
        stored = User.objects.select_for_update().filter(pk=user.pk).first() if user.pk else None
        before = user_snapshot(stored) if stored else None
        _save_audited(user)
        if groups is not None:
            user.groups.set(groups)
        if permissions is not None:
            user.user_permissions.set(permissions)
        after = user_snapshot(user)
        if _changed(before, after):
            origin.record(
                action="user.created" if before is None else "user.changed", target=user, before=before, after=after
            )
        if before is not None and before["is_active"] and not user.is_active:
            api_tokens_revoke_all(origin=origin, user=user, reason="user deactivated")
    return user


def user_password_set(*, origin: Origin, user: User, password: str | None) -> User:
    """Set (or, with None, disable) the password; revokes the user's API tokens."""
    with transaction.atomic():
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        _save_audited(user, update_fields=["password"])
        origin.record(
            action="user.password_changed",
            target=user,
            details={"usable_password": password is not None},
        )
        api_tokens_revoke_all(origin=origin, user=user, reason="password changed")
    return user


def _save_audited(user: User, **save_options: Any) -> None:
    # Tells accounts.receivers that this save is audited here, so it does not audit it again.
    user.saved_through_services = True
    try:
        user.save(**save_options)
    finally:
        del user.saved_through_services


def user_saved_outside_services(*, user: User, stored: dict[str, Any]) -> None:
    """Audit a user's save that bypassed these services (`manage.py changepassword`, a shell):
    a password change or deactivation still revokes the tokens, a privilege change still shows."""
    origin = Origin.system(source=Source.SHELL)
    details = {"outside_services": True}
    with transaction.atomic():
        if stored["password"] != user.password:
            origin.record(
                action="user.password_changed",
                target=user,
                details={**details, "usable_password": user.has_usable_password()},
            )
            api_tokens_revoke_all(origin=origin, user=user, reason="password changed")
        before = {name: stored[name] for name in USER_PRIVILEGE_FIELDS}
        after = {name: getattr(user, name) for name in USER_PRIVILEGE_FIELDS}
        if before != after:
            origin.record(action="user.changed", target=user, before=before, after=after, details=details)
        if before["is_active"] and not user.is_active:
            api_tokens_revoke_all(origin=origin, user=user, reason="user deactivated")


def user_delete(*, origin: Origin, user: User) -> None:
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        memberships = [membership_snapshot(m) for m in user.memberships.select_related("user", "team")]
        origin.record(action="user.deleted", target=user, before={**user_snapshot(user), "memberships": memberships})
        user.delete()


# --- API tokens -----------------------------------------------------------------------------------


def api_token_issue(
    *,
    user: User,
    actor: User | None = None,
    source: str = Source.SHELL,
    origin: Origin | None = None,
    lifetime: timedelta | None = None,
) -> str:
    """Create a bearer token for `user` and return it; only its hash is kept. It expires after
    `lifetime` (WLPANEL_API_TOKEN_DAYS by default)."""
    origin = origin or Origin(user=actor, source=source)
    key = "wlp_" + secrets.token_urlsafe(32)
    expires_at = timezone.now() + (lifetime or timedelta(days=settings.WLPANEL_API_TOKEN_DAYS))
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, key_hash=ApiToken.hash_key(key), prefix=key[4:12], expires_at=expires_at
        )
        origin.record(
            action="api_token.issued",
            target=user,
            after={"token_prefix": token.prefix, "user": user.username, "expires_at": expires_at.isoformat()},
        )
    return key


def api_token_revoke(*, origin: Origin, token: ApiToken, reason: str = "") -> bool:
    """Revoke one token; False when it was revoked already (nothing written)."""
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        if revoked:
            token.refresh_from_db()
            origin.record(
                action="api_token.revoked",
                target=token.user,
                before={"token_prefix": token.prefix, "revoked_at": None},
                after={"token_prefix": token.prefix, "revoked_at": token.revoked_at.isoformat()},
                details={"reason": reason} if reason else None,
            )
    return bool(revoked)


def api_tokens_revoke_all(*, origin: Origin, user: User, reason: str) -> int:
    tokens = list(ApiToken.objects.filter(user=user, revoked_at__isnull=True))
    return sum(api_token_revoke(origin=origin, token=token, reason=reason) for token in tokens)


def api_token_authenticate(key: str) -> User | None:
    """The active user a live token belongs to: not revoked, not expired."""
    now = timezone.now()
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=ApiToken.hash_key(key), revoked_at__isnull=True, expires_at__gt=now, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
