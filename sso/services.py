"""Logins through the provider: the user for an identity, and memberships reconciled with its groups.

Every change of who may do what goes through `accounts.services` (one audit row each, before and
after); the actor is the system (the provider decided), and one `sso.roles_reconciled` row names
the groups that decided it.
"""

import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts import services as accounts_services
from accounts.choices import GlobalRole
from accounts.models import Membership
from audit.choices import Source
from audit.context import Origin

from .models import GroupRule, Identity
from .roles import Grants, grants_for


class LoginRefused(Exception):
    """The provider vouched for the person, but the panel will not log them in; the message says why."""


def group_rules() -> list[dict]:
    return list(GroupRule.objects.values("group", "team_id", "team_role", "global_role"))


def provider_origin(request) -> Origin:
    """The provider decided: no person is the actor, the request says where it happened."""
    if request is None:
        return Origin.system(source=Source.WEB)
    return Origin(
        user=None,
        source=Source.WEB,
        ip_address=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.headers.get("User-Agent", "")[:300],
        correlation_id=getattr(request, "correlation_id", "") or uuid.uuid4().hex,
    )


def identity_login(*, issuer: str, claims: dict, request=None):
    """The user for this provider identity (made on first login), with roles as its groups say."""
    subject = str(claims["sub"])
    groups = claims.get(settings.WLPANEL_OIDC_GROUPS_CLAIM) or []
    if isinstance(groups, str):
        groups = [groups]
    grants = grants_for(group_rules(), [str(group) for group in groups])
    origin = provider_origin(request)
    with transaction.atomic():
        identity = Identity.objects.select_for_update().select_related("user").filter(issuer=issuer, subject=subject).first()
        user = identity.user if identity else _user_create(origin, issuer, subject, claims)
        identity = identity or user.sso_identity
        identity.groups, identity.last_login_at = list(groups), timezone.now()
        identity.save(update_fields=["groups", "last_login_at"])
        active_claim = settings.WLPANEL_OIDC_ACTIVE_CLAIM
        if active_claim and claims.get(active_claim) is False:
            user.is_active = False  # the provider says so; tokens are revoked with it
        _profile_update(user, claims)
        user = accounts_services.user_save(origin=origin, user=user)
        memberships_reconcile(user, grants, groups=groups, origin=origin)
    if not user.is_active:
        raise LoginRefused("Your account is deactivated. Ask an admin of wlpanel.")
    if not grants.anything:
        raise LoginRefused(
            "Your identity provider's groups give you no role in wlpanel "
            f"({', '.join(map(str, groups)) or 'no groups'}). Ask an admin to map one of your groups."
        )
    return user


def _user_create(origin: Origin, issuer: str, subject: str, claims: dict):
    User = get_user_model()
    username = str(claims.get(settings.WLPANEL_OIDC_USERNAME_CLAIM) or subject)[:150]
    if User.objects.filter(username=username).exists():
        # Never take over a local account by name: an admin links them on purpose.
        raise LoginRefused(f"A local account named {username!r} already exists: an admin must link it first.")
    user = User(username=username)
    user.set_unusable_password()  # the provider holds the password
    accounts_services.user_save(origin=origin, user=user)
    Identity.objects.create(user=user, issuer=issuer, subject=subject)
    return user


def _profile_update(user, claims: dict) -> None:
    fields = {"email": claims.get("email") or "", "first_name": claims.get("given_name") or "",
              "last_name": claims.get("family_name") or ""}
    for name, value in fields.items():
        if value:
            setattr(user, name, value[:150])


def memberships_reconcile(user, grants: Grants, *, groups, origin: Origin) -> list[str]:
    """Make the user's memberships and global roles exactly what the groups grant; the changes made."""
    changes: list[str] = []
    current = {m.team_id: m for m in Membership.objects.filter(user=user).select_related("team")}
    for team_id, membership in current.items():
        wanted = grants.team_roles.get(team_id)
        if wanted is None:
            accounts_services.membership_remove(origin=origin, membership=membership)
            changes.append(f"removed {membership.role} of {membership.team}")
        elif wanted != membership.role:
            changes.append(f"{membership.role} → {wanted} in {membership.team}")
            accounts_services.membership_set(origin=origin, team=membership.team, user=user, role=wanted)
    for team_id, role in grants.team_roles.items():
        if team_id not in current:
            membership = accounts_services.membership_save(
                origin=origin, membership=Membership(user=user, team_id=team_id, role=role)
            )
            changes.append(f"added {role} of {membership.team}")
    before = (user.global_role, user.is_superuser)
    user.global_role = GlobalRole.AUDITOR if grants.auditor else GlobalRole.NONE
    user.is_superuser = user.is_staff = grants.admin
    if (user.global_role, user.is_superuser) != before:
        accounts_services.user_save(origin=origin, user=user)
        changes.append(f"global role {before[0] or 'none'} → {user.global_role or 'none'}, admin {before[1]} → {user.is_superuser}")
    if changes:
        origin.record(action="sso.roles_reconciled", target=user, details={"groups": list(groups), "changes": changes})
    return changes
