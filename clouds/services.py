"""Writes of AWS accounts (admin only, audited) and the access check of an account's role."""

import re
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Team
from audit.choices import Source
from audit.context import Origin
from aws import accounts as aws_accounts
from aws import client as aws_client
from netmodel.zones import parent_regions

from .models import AwsAccount, TeamAccount

ACCOUNT_ID = re.compile(r"^\d{12}$")
ROLE_ARN = re.compile(r"^arn:aws(?:-[a-z]+)*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
# IAM's pattern for sts:ExternalId, 2 to 1224 characters.
EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
NAME = re.compile(r"^[\w .-]{1,64}$")
PROFILE_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")
AUDITED_FIELDS = ("account_id", "name", "role_arn", "regions", "ssm_instance_profile")
EDITABLE_FIELDS = (*AUDITED_FIELDS, "external_id")


def account_access(account: AwsAccount | None) -> aws_client.AccountAccess | None:
    """How the adapter acts in `account` (None: the panel's own credentials)."""
    if account is None:
        return None
    return aws_client.AccountAccess(
        account_id=account.account_id, role_arn=account.role_arn, external_id=account.external_id
    )


def _require_admin(origin: Origin) -> None:
    if origin.user is None and origin.source == Source.SHELL:
        return  # an operator at the shell (`manage.py demo_account`)
    if origin.user is None or not origin.user.is_superuser:
        raise PermissionDenied("Only an admin may add or change AWS accounts.")


def account_errors(*, account_id: str, name: str, role_arn: str, external_id: str, regions: list, ssm_instance_profile: str) -> dict:
    errors: dict[str, list[str]] = {}
    if not ACCOUNT_ID.match(account_id):
        errors["account_id"] = ["An AWS account id is 12 digits."]
    if not NAME.match(name):
        errors["name"] = ["1 to 64 letters, digits, spaces, dots, hyphens or underscores."]
    match = ROLE_ARN.match(role_arn)
    if not match:
        errors["role_arn"] = ["A role ARN: arn:aws:iam::<account id>:role/<name>."]
    elif match.group(1) != account_id:
        errors["role_arn"] = [f"The role belongs to account {match.group(1)}, not {account_id}."]
    if not EXTERNAL_ID.match(external_id):
        errors["external_id"] = ["2 to 1224 letters, digits or + = , . @ : / - _ (what the role's trust policy requires)."]
    known = parent_regions()
    unknown = [region for region in regions if region not in known]
    if not regions:
        errors["regions"] = [f"Choose at least one Region: {', '.join(known)}."]
    elif unknown:
        errors["regions"] = [f"No Wavelength Zone has {', '.join(unknown)} as parent Region; choose from {', '.join(known)}."]
    if ssm_instance_profile and not PROFILE_NAME.match(ssm_instance_profile):
        errors["ssm_instance_profile"] = ["An instance profile name: 1 to 128 letters, digits or + = , . @ - _."]
    return errors


def external_id_new() -> str:
    """An external id for a new account: unguessable, so only this panel can assume the role."""
    return "wlpanel-" + secrets.token_urlsafe(24)


def account_create(
    *,
    origin: Origin,
    account_id: str,
    name: str,
    role_arn: str,
    external_id: str = "",
    regions: list[str],
    ssm_instance_profile: str = "",
    teams: list[Team] = (),
    default_for: list[Team] = (),
) -> AwsAccount:
    """Admin: register an account the panel reaches by assuming `role_arn` with `external_id`."""
    _require_admin(origin)
    fields = {
        "account_id": account_id.strip(),
        "name": name.strip(),
        "role_arn": role_arn.strip(),
        "external_id": external_id.strip() or external_id_new(),
        "regions": list(dict.fromkeys(regions)),
        "ssm_instance_profile": ssm_instance_profile.strip(),
    }
    errors = account_errors(**fields)
    if AwsAccount.objects.filter(account_id=fields["account_id"]).exists():
        errors.setdefault("account_id", []).append(f"Account {fields['account_id']} is already registered.")
    if AwsAccount.objects.filter(name=fields["name"]).exists():
        errors.setdefault("name", []).append(f"An account is already named “{fields['name']}”.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        account = AwsAccount.objects.create(**fields)
        origin.record(action="aws_account.created", target=account, after={name: fields[name] for name in AUDITED_FIELDS})
        for team in teams:
            account_bind_team(origin=origin, account=account, team=team, default=team in default_for)
    return account


def account_update(*, origin: Origin, account: AwsAccount, **changes) -> AwsAccount:
    """Admin: change the role, external id, Regions or instance profile (the account id stays)."""
    _require_admin(origin)
    fields = {name: getattr(account, name) for name in (*AUDITED_FIELDS, "external_id")}
    fields.update({name: value for name, value in changes.items() if name in fields and name != "account_id"})
    errors = account_errors(**fields)
    if AwsAccount.objects.filter(name=fields["name"]).exclude(pk=account.pk).exists():
        errors.setdefault("name", []).append(f"An account is already named “{fields['name']}”.")
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        before = {name: getattr(account, name) for name in AUDITED_FIELDS}
        for name, value in fields.items():
            setattr(account, name, value)
        account.save()
        origin.record(
            action="aws_account.updated",
            target=account,
            before=before,
            after={name: fields[name] for name in AUDITED_FIELDS},
            details={"external_id_changed": "external_id" in changes},
        )
    return account


def account_bind_team(*, origin: Origin, account: AwsAccount, team: Team, default: bool = False) -> TeamAccount:
    """Admin: the team may build in the account (its default one when `default`)."""
    _require_admin(origin)
    with transaction.atomic():
        if default:
            TeamAccount.objects.filter(team=team, is_default=True).exclude(account=account).update(is_default=False)
        binding, created = TeamAccount.objects.update_or_create(team=team, account=account, defaults={"is_default": default})
        origin.record(
            action="aws_account.team_bound",
            target=account,
            team_slug=team.slug,
            after={"team": team.slug, "default": default, "created": created},
        )
    return binding


def account_unbind_team(*, origin: Origin, account: AwsAccount, team: Team) -> None:
    _require_admin(origin)
    with transaction.atomic():
        deleted, _ = TeamAccount.objects.filter(team=team, account=account).delete()
        if deleted:
            origin.record(action="aws_account.team_unbound", target=account, team_slug=team.slug, before={"team": team.slug})


def account_check(*, origin: Origin, account: AwsAccount) -> dict:
    """Assume the role and dry-run the build's first calls in each Region; stored and audited.

    {"assumable", "identity", "principal", "message", "findings": [...]} — the message says what
    the role's trust policy must contain when the role cannot be assumed.
    """
    if origin.user is not None and not origin.user.is_superuser:
        raise PermissionDenied("Only an admin may check an AWS account's access.")
    intent = origin.record(action="aws_account.check_requested", target=account)
    context = aws_client.CallContext(correlation_id=origin.correlation_id, cause_event_id=intent.pk)
    access = account_access(account)
    result = {"assumable": False, "identity": {}, "principal": "", "message": "", "findings": []}
    try:
        result["principal"] = aws_accounts.panel_principal(context=context)
    except aws_client.AwsError as exc:
        result["message"] = f"The panel's own credentials do not work: {exc}"
    if not result["message"]:
        try:
            result["identity"] = aws_accounts.caller_identity(access, context=context)
            result["assumable"] = True
        except aws_accounts.RoleNotAssumable as exc:
            result["message"] = (
                f"The panel could not assume {account.role_arn}: AWS answered {exc.code}: {exc.message} "
                f"Its trust policy must allow sts:AssumeRole to {result['principal']} on condition "
                f"sts:ExternalId = {account.external_id}."
            )
        except aws_client.AwsError as exc:
            result["message"] = f"The panel could not reach STS: {exc}"
    if result["assumable"]:
        result["findings"] = aws_accounts.permissions_probe(access, account.regions, context=context)
        denied = [f"{item['call']} in {item['region']}" for item in result["findings"] if item["verdict"] != aws_accounts.ALLOWED]
        result["message"] = (
            "The role can be assumed and may make every call checked."
            if not denied
            else f"The role can be assumed, but these calls were refused or failed: {', '.join(denied)}."
        )
    with transaction.atomic():
        account.access_check = result
        account.checked_at = timezone.now()
        account.save(update_fields=["access_check", "checked_at"])
        origin.record(
            action="aws_account.checked",
            target=account,
            details={"assumable": result["assumable"], "message": result["message"], "cause_event_id": intent.pk},
        )
    return result
