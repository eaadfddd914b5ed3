"""Reads: which accounts a person sees, which a team may build in, and a team's default."""

import re

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import Team

from .models import AwsAccount, TeamAccount

ACCOUNT_ID = re.compile(r"\d{12}")


def accounts_visible(user) -> QuerySet[AwsAccount]:
    """Admins see every account; members the accounts bound to their teams."""
    accounts = AwsAccount.objects.prefetch_related("bindings__team")
    if user.is_superuser:
        return accounts
    return accounts.filter(bindings__team__memberships__user=user).distinct()


def account_get_visible(user, account_id: str) -> AwsAccount:
    if not isinstance(account_id, str) or not ACCOUNT_ID.fullmatch(account_id):
        raise Http404("An AWS account id is 12 digits.")  # and text PostgreSQL refuses (NUL) never reaches it
    account = accounts_visible(user).filter(account_id=account_id).first()
    if account is None:
        raise Http404(f"No AWS account {account_id} that you may see.")
    return account


def team_accounts(team: Team) -> list[AwsAccount]:
    """The accounts the team may build in, its default first."""
    return [binding.account for binding in TeamAccount.objects.filter(team=team).select_related("account")]


def team_default_account(team: Team) -> AwsAccount | None:
    """The account a request of the team builds in when it names none: its default, or its only one.

    None when the team has no account bound: the panel's own account (its own credentials).
    """
    bindings = list(TeamAccount.objects.filter(team=team).select_related("account")[:2])
    if not bindings:
        return None
    default = next((binding for binding in bindings if binding.is_default), None)
    return (default or bindings[0]).account if default or len(bindings) == 1 else None
