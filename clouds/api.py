"""`/api/accounts`: the AWS accounts the panel builds in (docs/api.md). Admins register them;
members see their teams' accounts, without the external id."""

from datetime import datetime
from typing import Annotated

from django.core.exceptions import PermissionDenied, ValidationError
from ninja import Field, Path, Router, Schema, Status

from accounts.models import Team
from audit.choices import Source
from audit.context import Origin
from wlpanel.api_errors import answers
from wlpanel.pagination import keyset_page

from . import services
from .selectors import account_get_visible, accounts_visible

router = Router(tags=["accounts"])
AccountIdPath = Annotated[str, Field(max_length=64, description="A 12-digit AWS account id.")]


class TeamBindingOut(Schema):
    team: str
    default: bool


class AccountOut(Schema):
    account_id: str
    name: str
    role_arn: str
    external_id: str | None  # admins only
    regions: list[str]
    ssm_instance_profile: str
    teams: list[TeamBindingOut]
    checked_at: datetime | None
    access_check: dict


class AccountPage(Schema):
    count: int
    next: str | None
    items: list[AccountOut]


class AccountIn(Schema):
    # Checked by the service (after the admin check: a member's write is a 403, whatever its body).
    account_id: str = Field(default="", max_length=12, description="12 digits.")
    name: str = Field(default="", max_length=64)
    role_arn: str = Field(default="", max_length=2048)
    external_id: str = Field(default="", max_length=1224, description="Empty: the panel generates one.")
    regions: list[Annotated[str, Field(max_length=32)]] = Field(default=[], max_length=32)
    ssm_instance_profile: str = Field(default="", max_length=128)
    teams: list[Annotated[str, Field(max_length=50)]] = Field(default=[], max_length=100)
    default_for: list[Annotated[str, Field(max_length=50)]] = Field(
        default=[], max_length=100, description="Teams for which this becomes the default account."
    )


def account_data(account, *, user) -> dict:
    return {
        "account_id": account.account_id,
        "name": account.name,
        "role_arn": account.role_arn,
        "external_id": account.external_id if user.is_superuser else None,
        "regions": account.regions,
        "ssm_instance_profile": account.ssm_instance_profile,
        "teams": [{"team": binding.team.slug, "default": binding.is_default} for binding in account.bindings.all()],
        "checked_at": account.checked_at,
        "access_check": account.access_check,
    }


def _teams(slugs: list[str]) -> list[Team]:
    found = {team.slug: team for team in Team.objects.filter(slug__in=slugs)}
    missing = [slug for slug in slugs if slug not in found]
    if missing:
        raise ValidationError({"teams": [f"No team {', '.join(missing)}."]})
    return [found[slug] for slug in slugs]


@router.get("/accounts", response=answers({200: AccountPage}, 400))
def account_list(request, limit: int | None = None, cursor: str | None = None):
    return keyset_page(
        accounts_visible(request.user), limit=limit, cursor=cursor, serialize=lambda a: account_data(a, user=request.user)
    )


@router.post("/accounts", response=answers({201: AccountOut}, 400, 403))
def account_create(request, payload: AccountIn):
    if not request.user.is_superuser:
        raise PermissionDenied("Only an admin may add AWS accounts.")
    teams = _teams(payload.teams + [slug for slug in payload.default_for if slug not in payload.teams])
    account = services.account_create(
        origin=Origin.from_request(request, Source.API),
        account_id=payload.account_id,
        name=payload.name,
        role_arn=payload.role_arn,
        external_id=payload.external_id,
        regions=payload.regions,
        ssm_instance_profile=payload.ssm_instance_profile,
        teams=teams,
        default_for=[team for team in teams if team.slug in payload.default_for],
    )
    return Status(201, account_data(account, user=request.user))


@router.get("/accounts/{account_id}", response=answers({200: AccountOut}, 400, 404))
def account_detail(request, account_id: Path[AccountIdPath]):
    return account_data(account_get_visible(request.user, account_id), user=request.user)


@router.post("/accounts/{account_id}/check", response=answers({200: AccountOut}, 400, 403, 404))
def account_check(request, account_id: Path[AccountIdPath]):
    """Admin: assume the account's role and dry-run the build's first calls in each of its Regions."""
    if not request.user.is_superuser:
        raise PermissionDenied("Only an admin may check an AWS account's access.")
    account = account_get_visible(request.user, account_id)
    services.account_check(origin=Origin.from_request(request, Source.API), account=account)
    return account_data(account, user=request.user)
