"""Logins through the provider: the user for an identity, and memberships reconciled with its groups.

Every change of role this makes is an audit row whose actor is the system (the provider decided),
with the groups that decided it.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.choices import GlobalRole
from accounts.models import Membership
from audit.choices import Source
from audit.services import record, request_context

from .models import GroupRule, Identity
from .roles import Grants, grants_for


class LoginRefused(Exception):
    """The provider vouched for the person, but the panel will not log them in; the message says why."""


def group_rules() -> list[dict]:
    return list(GroupRule.objects.values("group", "team_id", "team_role", "global_role"))


def identity_login(*, issuer: str, claims: dict, request=None):
    """The user for this provider identity (made on first login), with roles as its groups say."""
    subject = str(claims["sub"])
    groups = claims.get(settings.WLPANEL_OIDC_GROUPS_CLAIM) or []
    if isinstance(groups, str):
        groups = [groups]
    grants = grants_for(group_rules(), [str(group) for group in groups])
    with transaction.atomic():
        identity = Identity.objects.select_for_update().select_related("user").filter(issuer=issuer, subject=subject).first()
        user = identity.user if identity else _user_create(issuer, subject, claims, request)
        identity = identity or user.sso_identity
        identity.groups, identity.last_login_at = list(groups), timezone.now()
        identity.save(update_fields=["groups", "last_login_at"])
        _profile_update(user, claims)
        active_claim = settings.WLPANEL_OIDC_ACTIVE_CLAIM
        if active_claim and claims.get(active_claim) is False:
            _user_deactivate(user, groups, request)
        memberships_reconcile(user, grants, groups=groups, request=request)
    if not user.is_active:
        raise LoginRefused("Your account is deactivated. Ask an admin of wlpanel.")
    if not grants.anything:
        raise LoginRefused(
            "Your identity provider's groups give you no role in wlpanel "
            f"({', '.join(map(str, groups)) or 'no groups'}). Ask an admin to map one of your groups."
        )
    return user


def _user_create(issuer: str, subject: str, claims: dict, request):
    User = get_user_model()
    username = str(claims.get(settings.WLPANEL_OIDC_USERNAME_CLAIM) or subject)[:150]
    if User.objects.filter(username=username).exists():
        # Never take over a local account by name: an admin links them on purpose.
        raise LoginRefused(f"A local account named {username!r} already exists: an admin must link it first.")
    user = User(username=username)
    user.set_unusable_password()  # the provider holds the password
    user.save()
    Identity.objects.create(user=user, issuer=issuer, subject=subject)
    record(
        actor=None,
        action="user.created",
        target=user,
        source=Source.WEB,
        after={"username": username, "issuer": issuer, "subject": subject},
        details={"by": "single sign-on"},
        **request_context(request),
    )
    return user


def _profile_update(user, claims: dict) -> None:
    fields = {"email": claims.get("email") or "", "first_name": claims.get("given_name") or "",
              "last_name": claims.get("family_name") or ""}
    changed = [name for name, value in fields.items() if value and getattr(user, name) != value[:150]]
    for name in changed:
        setattr(user, name, fields[name][:150])
    if changed:
        user.save(update_fields=changed)


def _user_deactivate(user, groups, request) -> None:
    if not user.is_active:
        return
    user.is_active = False
    user.save(update_fields=["is_active"])
    record(actor=None, action="user.deactivated", target=user, source=Source.WEB,
           before={"is_active": True}, after={"is_active": False},
           details={"by": "single sign-on", "claim": settings.WLPANEL_OIDC_ACTIVE_CLAIM}, **request_context(request))


def memberships_reconcile(user, grants: Grants, *, groups, request=None) -> list[str]:
    """Make the user's memberships and global roles exactly what the groups grant; the changes made."""
    changes: list[str] = []
    details = {"by": "single sign-on", "groups": list(groups)}
    current = {m.team_id: m for m in Membership.objects.filter(user=user).select_related("team")}
    for team_id, membership in current.items():
        wanted = grants.team_roles.get(team_id)
        if wanted is None:
            membership.delete()
            _record_role(user, "membership.revoked", membership.team, {"role": membership.role}, None, details, request)
            changes.append(f"revoked {membership.role} of {membership.team}")
        elif wanted != membership.role:
            before = membership.role
            membership.role = wanted
            membership.save(update_fields=["role"])
            _record_role(user, "membership.changed", membership.team, {"role": before}, {"role": wanted}, details, request)
            changes.append(f"{before} → {wanted} in {membership.team}")
    for team_id, role in grants.team_roles.items():
        if team_id not in current:
            membership = Membership.objects.create(user=user, team_id=team_id, role=role)
            _record_role(user, "membership.granted", membership.team, None, {"role": role}, details, request)
            changes.append(f"granted {role} of {membership.team}")
    global_role = GlobalRole.AUDITOR if grants.auditor else GlobalRole.NONE
    before = {"global_role": user.global_role, "is_superuser": user.is_superuser}
    user.global_role = global_role
    user.is_superuser = user.is_staff = grants.admin
    after = {"global_role": user.global_role, "is_superuser": user.is_superuser}
    if after != before:
        user.save(update_fields=["global_role", "is_superuser", "is_staff"])
        _record_role(user, "user.roles_changed", None, before, after, details, request)
        changes.append(f"global roles {before} → {after}")
    return changes


def _record_role(user, action, team, before, after, details, request) -> None:
    record(
        actor=None,
        action=action,
        target=user,
        source=Source.WEB,
        before=before,
        after=after,
        team_slug=team.slug if team is not None else None,
        details=details,
        **request_context(request),
    )
