"""Writes of the domain: requests, four-eyes decisions, and the environment actions.

Pages, the API, tasks and commands all call these, so they can never disagree about who may do
what. Database-only decisions and their audit rows commit in one transaction; work for the
engine is enqueued only after that commit.
"""

import uuid
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.choices import TeamRole
from accounts.models import Membership, Team
from accounts.selectors import is_team_approver
from audit.context import Origin
from clouds.models import AwsAccount
from clouds.selectors import team_accounts, team_default_account
from clouds.services import account_access
from notify import services as notifications
from quotas.services import quota_refresh_request

from . import approvals, permissions
from .choices import ENVIRONMENT_TRANSITIONS, EnvironmentState, RequestState, ResourceState
from .exceptions import Conflict, PermissionDenied, PlanMismatch, ValidationError
from .models import Environment, EnvironmentRequest, Installation, Resource, Zone
from .provisioning.overrides import override_errors
from .provisioning.plan import (
    INSTALLATION_TAG,
    TOKEN_KINDS,
    IngressRule,
    PlanSpec,
    client_token,
    plan_document,
    resource_tags,
)
from .provisioning.plan import plan_hash as compute_plan_hash
from .selectors import environment_get_visible, request_get_visible
from .validation import EXTEND_HOURS_MAX, NAME, NAME_MESSAGE, ingress_errors, network_errors

DEFAULT_INGRESS = [{"protocol": "all", "ports": None}]
ADVANCE_TASK = "environments.advance"
REFRESH_TASK = "environments.refresh"


def _enqueue_after_commit(task_name: str, *args) -> None:
    """Publish only once the rows the task reads are committed (a lost publish is re-driven by beat)."""
    transaction.on_commit(lambda: current_app.send_task(task_name, args=list(args)))


# --- Requests ------------------------------------------------------------------------------------


def request_account(*, team: Team, account_id: str | None) -> AwsAccount | None:
    """The AWS account a request of `team` builds in: the one it names, else the team's default.

    None: the panel's own account, for a team with no account bound. Raises ValidationError.
    """
    accounts = team_accounts(team)
    names = ", ".join(f"{account.account_id} ({account.name})" for account in accounts)
    if account_id:
        chosen = next((account for account in accounts if account.account_id == account_id), None)
        if chosen is None:
            choices = f"its accounts: {names}" if accounts else "it has no AWS account of its own"
            raise ValidationError({"account": [f"Team {team.slug} may not build in account {account_id}; {choices}."]})
        return chosen
    default = team_default_account(team)
    if default is None and accounts:
        raise ValidationError({"account": [f"Choose the AWS account to build in: {names}."]})
    return default


def request_zone(*, team: Team, zone_name: str, account_id: str | None = None) -> Zone | None:
    """The zone named, as the request's account sees it (zones and their opt-ins are per account)."""
    account = request_account(team=team, account_id=account_id)
    return Zone.objects.filter(account=account, name=zone_name).select_related("account").first()


def request_spec(*, team: Team, zone: Zone, fields: dict) -> PlanSpec:
    account = zone.account
    return PlanSpec(
        account_id=account.account_id if account else "",
        instance_profile=account.ssm_instance_profile if account else "",
        name=fields["name"],
        region=zone.region,
        zone=zone.name,
        parent_zone=zone.parent_zone_name,
        instance_type=fields["instance_type"],
        bastion=fields["bastion"],
        vpc_cidr=fields["vpc_cidr"],
        public_subnet_cidr=fields["public_subnet_cidr"],
        wavelength_subnet_cidr=fields["wavelength_subnet_cidr"],
        bastion_ssh_cidr=fields["bastion_ssh_cidr"],
        wavelength_ingress=tuple(IngressRule(rule["protocol"], rule.get("ports") or None) for rule in fields["wavelength_ingress"]),
        key_name=fields["key_name"],
        image_id=fields["image_id"],
    )


def request_override_problems(request: EnvironmentRequest) -> list[str]:
    """What no longer holds of the request's key pair and AMI (checked against AWS now)."""
    errors = override_errors(
        region=request.zone.region,
        instance_type=request.instance_type,
        key_name=request.key_name,
        image_id=request.image_id,
        account=account_access(request.account),
    )
    return [message for messages in errors.values() for message in messages]


def request_errors(*, team: Team, zone: Zone | None, fields: dict) -> dict[str, list[str]]:
    """Every problem with a request, as {field: [messages]}; empty when it can be submitted."""
    errors: dict[str, list[str]] = {}
    name = fields["name"]
    if not NAME.match(name):
        errors["name"] = [NAME_MESSAGE]
    elif (
        Environment.objects.filter(team=team, name=name).exclude(state=EnvironmentState.DESTROYED).exists()
        or EnvironmentRequest.objects.filter(team=team, name=name, state=RequestState.PENDING).exists()
    ):
        errors["name"] = [f"Team {team.slug} already has a live environment or pending request named “{name}”."]
    if zone is None:
        errors["zone"] = ["Choose a Wavelength Zone."]
    elif zone.account is not None and zone.account not in team_accounts(team):
        errors["zone"] = [f"{zone.name} is a zone of account {zone.account.account_id}, which team {team.slug} may not use."]
    elif zone.account is None and team_accounts(team):
        errors["zone"] = [f"Team {team.slug} builds in its own AWS accounts; choose a zone of one of them."]
    elif zone.region not in _allowed_regions(zone):
        errors["zone"] = [f"Account {zone.account.account_id} is not allowed to use {zone.region}."]
    elif not zone.opted_in:
        errors["zone"] = [
            f"{zone.name} is not opted in. An admin must opt in the zone group {zone.group_name} "
            "(opting out later needs AWS Support)."
        ]
    elif fields["instance_type"] not in zone.instance_types:
        offered = ", ".join(zone.instance_types) or "none known yet"
        if not fields["instance_type"]:
            errors["instance_type"] = [f"Choose an instance type; {zone.name} offers: {offered}."]
        else:
            errors["instance_type"] = [f"{zone.name} does not offer {fields['instance_type']}; it offers: {offered}."]
    ttl = fields["ttl_hours"]
    if not 1 <= ttl <= team.max_ttl_hours:
        errors["ttl_hours"] = [f"Expiry must be between 1 and {team.max_ttl_hours} hours for team {team.slug}."]
    errors.update(
        network_errors(
            vpc_cidr=fields["vpc_cidr"],
            public_subnet_cidr=fields["public_subnet_cidr"],
            wavelength_subnet_cidr=fields["wavelength_subnet_cidr"],
            bastion=fields["bastion"],
            bastion_ssh_cidr=fields["bastion_ssh_cidr"],
        )
    )
    errors.update(ingress_errors(fields["wavelength_ingress"]))
    if zone is not None and "zone" not in errors and "instance_type" not in errors:
        # The key pair and the AMI, checked against AWS now rather than found missing mid-build.
        errors.update(
            override_errors(
                region=zone.region,
                instance_type=fields["instance_type"],
                key_name=fields["key_name"],
                image_id=fields["image_id"],
                account=account_access(zone.account),
            )
        )
    return errors


def _allowed_regions(zone: Zone) -> list[str]:
    return zone.account.regions if zone.account is not None else [zone.region]


def request_fields(**given) -> dict:
    """The request's fields with docs/api.md defaults filled in."""
    return {
        "name": (given.get("name") or "").strip(),
        "purpose": (given.get("purpose") or "").strip(),
        "instance_type": given.get("instance_type") or "",
        "bastion": True if given.get("bastion") is None else bool(given["bastion"]),
        "vpc_cidr": given.get("vpc_cidr") or "10.0.0.0/16",
        "public_subnet_cidr": given.get("public_subnet_cidr") or "10.0.1.0/24",
        "wavelength_subnet_cidr": given.get("wavelength_subnet_cidr") or "10.0.0.0/24",
        "bastion_ssh_cidr": given.get("bastion_ssh_cidr") or "",
        "wavelength_ingress": DEFAULT_INGRESS if given.get("wavelength_ingress") is None else given["wavelength_ingress"],
        "ttl_hours": 72 if given.get("ttl_hours") is None else int(given["ttl_hours"]),
        "key_name": given.get("key_name") or "",
        "image_id": given.get("image_id") or "",
    }


def request_plan_preview(*, team: Team, zone: Zone, fields: dict) -> tuple[dict, str]:
    document = plan_document(request_spec(team=team, zone=zone, fields=fields))
    return document, compute_plan_hash(document)


def environment_request_create(
    *, origin: Origin, team: Team, zone: Zone | None, prefilled_from: EnvironmentRequest | None = None, **given
) -> EnvironmentRequest:
    """A member asks for an environment. Raises ValidationError({field: [messages]})."""
    if not permissions.can_request(origin.user, team):
        raise PermissionDenied(f"You are not a member of team {team.slug}.")
    fields = request_fields(**given)
    errors = request_errors(team=team, zone=zone, fields=fields)
    if errors:
        raise ValidationError(errors)
    document, digest = request_plan_preview(team=team, zone=zone, fields=fields)
    # The team's limits (budget, live environments, instance types, TTL), with the numbers.
    limit_errors = approvals.limit_errors(
        team=team, plan=document, instance_type=fields["instance_type"], ttl_hours=fields["ttl_hours"]
    )
    if limit_errors:
        raise ValidationError(limit_errors)
    with transaction.atomic():
        request = EnvironmentRequest.objects.create(
            team=team,
            requester=origin.user,
            zone=zone,
            account=zone.account,
            plan=document,
            plan_hash=digest,
            prefilled_from=prefilled_from,
            **fields,
            # The approval policy's verdict and window, beside the plan (not in its hash).
            **approvals.policy_fields(team=team, plan=document, ttl_hours=fields["ttl_hours"]),
        )
        origin.record(
            action="request.created",
            target=request,
            after={
                **fields,
                "zone": zone.name,
                **({"account_id": zone.account.account_id} if zone.account else {}),
                "plan_hash": digest,
            },
        )
        approvers = [m.user for m in Membership.objects.filter(team=team, role=TeamRole.APPROVER).select_related("user")]
        notifications.notify(
            users=[user for user in approvers if user.pk != origin.user.pk],
            verb="request.waiting",
            event="request.created",
            team=team,
            message=f"{origin.user.get_username()} asks for {team.slug}/{request.name} in {zone.name}: waiting for your approval.",
            link=f"/requests/{request.pk}/",
        )
        # The approver will want the Region's quota use beside the plan: read it ahead of the page.
        quota_refresh_request(region=zone.region, instance_types=[step["params"]["InstanceType"] for step in document["steps"] if step["kind"] == "instance"])
    return request


def _locked_pending_request(origin: Origin, request_id: int) -> EnvironmentRequest:
    request_get_visible(origin.user, request_id)  # 404 outside the caller's teams
    request = EnvironmentRequest.objects.select_for_update().select_related("team", "zone", "requester").get(pk=request_id)
    if request.state != RequestState.PENDING:
        raise Conflict(f"The request is already {request.state}.")
    return request


def _check_decider(origin: Origin, request: EnvironmentRequest, verb: str) -> None:
    if request.requester_id == origin.user.pk:
        raise PermissionDenied(f"You cannot {verb} your own request: another approver of {request.team.slug} must.")
    if not is_team_approver(user=origin.user, team=request.team):
        raise PermissionDenied(f"Only approvers of team {request.team.slug} may {verb} its requests.")


def environment_request_approve(
    *, origin: Origin, request_id: int, plan_hash: str, comment: str = ""
) -> Environment | None:
    """Four eyes: an approver of the team, never the requester, approves the exact plan shown.

    `plan_hash` is required on every path and is checked against a hash recomputed from the stored
    plan, not against the stored hash: a plan changed behind the request's back is a 409 too.
    Returns None when the approval is recorded but the request's policy needs more approvers.
    """
    if not plan_hash:
        raise ValidationError({"plan_hash": ["Give the hash of the plan you reviewed (the request's plan_hash)."]})
    with transaction.atomic():
        request = _locked_pending_request(origin, request_id)
        _check_decider(origin, request, "approve")
        current = compute_plan_hash(request.plan)
        if plan_hash != current:
            raise PlanMismatch(given=plan_hash, current=current)
        if not request.zone.opted_in:
            raise Conflict(f"{request.zone.name} is no longer opted in.")
        problems = request_override_problems(request)
        if problems:
            raise Conflict(
                "This request cannot be built as planned: " + " ".join(problems)
                + " Reject it; its requester can make a new request from it with the fix."
            )
        # Each approval is recorded; the last one the policy requires approves the request.
        if not approvals.approval_record(origin=origin, request=request, comment=comment)["complete"]:
            return None
        now = timezone.now()
        request.state = RequestState.APPROVED
        request.decided_by = origin.user
        request.decided_at = now
        request.decision_comment = comment
        request.save(update_fields=["state", "decided_by", "decided_at", "decision_comment"])
        try:
            with transaction.atomic():
                environment = Environment.objects.create(
                    request=request,
                    team=request.team,
                    owner=request.requester,
                    name=request.name,
                    zone=request.zone,
                    account=request.account,
                    region=request.zone.region,
                    plan=request.plan,
                    plan_hash=current,
                    correlation_id=origin.correlation_id,
                    expires_at=now + timedelta(hours=request.ttl_hours),
                )
        except IntegrityError as exc:
            raise Conflict(f"Team {request.team.slug} already has a live environment named “{request.name}”.") from exc
        _resources_create(environment)
        event = origin.record(
            action="request.approved",
            target=request,
            before={"state": RequestState.PENDING},
            after={"state": RequestState.APPROVED, "environment_id": environment.pk, "plan_hash": current},
            details={"comment": comment},
            environment_id=environment.pk,
        )
        environment.cause_event_id = event.pk
        environment.save(update_fields=["cause_event_id"])
        origin.record(
            action="environment.created",
            target=environment,
            after={"state": environment.state, "expires_at": environment.expires_at.isoformat()},
        )
        notifications.notify(
            users=[request.requester],
            verb="request.approved",
            team=request.team,
            message=f"{origin.user.get_username()} approved {environment}; the build has started.",
            link=f"/environments/{environment.pk}/",
        )
        _enqueue_after_commit(ADVANCE_TASK, environment.pk)
    return environment


def installation_id() -> str:
    """This panel's namespace in AWS: `WLPANEL_INSTALLATION_ID` (if set) plus an id generated once per database."""
    stored = Installation.objects.order_by("pk").first()
    if stored is None:
        try:
            with transaction.atomic():
                stored = Installation.objects.create(uid=uuid.uuid4().hex[:12])
        except IntegrityError:  # pragma: no cover - two first approvals at once
            stored = Installation.objects.order_by("pk").first()
    configured = getattr(settings, "WLPANEL_INSTALLATION_ID", "")
    return f"{configured}-{stored.uid}" if configured else stored.uid


def _resources_create(environment: Environment) -> None:
    installation = installation_id()
    Resource.objects.bulk_create(
        Resource(
            environment=environment,
            key=step["key"],
            kind=step["kind"],
            depends_on=step["depends_on"],
            client_token=(
                client_token(installation, environment.pk, step["key"]) if step["kind"] in TOKEN_KINDS else ""
            ),
            tags=resource_tags(installation, environment.pk, environment.name, step["key"]),
            progress={"token_generation": 1},
        )
        for step in environment.plan["steps"]
    )


def environment_request_reject(*, origin: Origin, request_id: int, comment: str = "") -> EnvironmentRequest:
    with transaction.atomic():
        request = _locked_pending_request(origin, request_id)
        _check_decider(origin, request, "reject")
        request.state = RequestState.REJECTED
        request.decided_by = origin.user
        request.decided_at = timezone.now()
        request.decision_comment = comment
        request.save(update_fields=["state", "decided_by", "decided_at", "decision_comment"])
        origin.record(
            action="request.rejected",
            target=request,
            before={"state": RequestState.PENDING},
            after={"state": RequestState.REJECTED},
            details={"comment": comment},
        )
        notifications.notify(
            users=[request.requester],
            verb="request.rejected",
            team=request.team,
            message=f"{origin.user.get_username()} rejected {request}: {comment or 'no comment'}",
            link=f"/requests/{request.pk}/",
        )
    return request


def environment_request_cancel(*, origin: Origin, request_id: int, comment: str = "") -> EnvironmentRequest:
    with transaction.atomic():
        request = _locked_pending_request(origin, request_id)
        if request.requester_id != origin.user.pk:
            raise PermissionDenied("Only the requester may cancel a pending request.")
        request.state = RequestState.CANCELLED
        request.decided_at = timezone.now()
        request.decision_comment = comment
        request.save(update_fields=["state", "decided_at", "decision_comment"])
        origin.record(
            action="request.cancelled",
            target=request,
            before={"state": RequestState.PENDING},
            after={"state": RequestState.CANCELLED},
            details={"comment": comment},
        )
    return request


# --- Environments --------------------------------------------------------------------------------


def _locked_environment(origin: Origin, environment_id: int) -> Environment:
    if origin.user is not None:
        environment_get_visible(origin.user, environment_id)  # 404 outside the caller's teams
    return Environment.objects.select_for_update().select_related("team", "owner", "zone").get(pk=environment_id)


def environment_transition(environment: Environment, state: str) -> str:
    """Move to `state` if the transition table allows it; return the previous state."""
    if state not in ENVIRONMENT_TRANSITIONS[environment.state]:
        raise Conflict(f"An environment that is {environment.state} cannot become {state}.")
    previous = environment.state
    environment.state = state
    environment.state_changed_at = timezone.now()
    return previous


def environment_destroy(*, origin: Origin, environment_id: int, reason: str = "") -> Environment:
    """Tear the environment down (from any state but destroyed); the engine does the AWS work."""
    with transaction.atomic():
        environment = _locked_environment(origin, environment_id)
        if origin.user is not None and not permissions.can_destroy(origin.user, environment):
            if environment.state in (EnvironmentState.DESTROYING, EnvironmentState.DESTROYED):
                raise Conflict(f"The environment is already {environment.state}.")
            raise PermissionDenied("Only the owner, an approver of the team or an admin may destroy it.")
        previous = environment_transition(environment, EnvironmentState.DESTROYING)
        if previous == EnvironmentState.DESTROY_FAILED:
            _resources_reset_failed(environment)  # else the failed step fails the teardown again at once
        _begin_operation(origin, environment, action="environment.destroy_requested", previous=previous, reason=reason)
    return environment


def environment_retry(*, origin: Origin, environment_id: int) -> Environment:
    """Retry a failed build (→ provisioning) or a failed teardown (→ destroying)."""
    with transaction.atomic():
        environment = _locked_environment(origin, environment_id)
        if not permissions.can_retry(origin.user, environment):
            if environment.state not in (EnvironmentState.FAILED, EnvironmentState.DESTROY_FAILED):
                raise Conflict(f"Only a failed environment can be retried; this one is {environment.state}.")
            raise PermissionDenied("Only the environment's owner may retry it.")
        target = (
            EnvironmentState.PROVISIONING if environment.state == EnvironmentState.FAILED else EnvironmentState.DESTROYING
        )
        previous = environment_transition(environment, target)
        _resources_reset_failed(environment)
        _begin_operation(origin, environment, action="environment.retry_requested", previous=previous)
    return environment


def _resources_reset_failed(environment: Environment) -> None:
    """Failed steps start over; a create that never produced a resource gets a fresh ClientToken."""
    for resource in environment.resources.filter(state=ResourceState.FAILED):
        if not resource.aws_id and resource.kind in TOKEN_KINDS:
            generation = resource.progress.get("token_generation", 1) + 1
            resource.progress["token_generation"] = generation
            installation = resource.tags.get(INSTALLATION_TAG, "")
            resource.client_token = client_token(installation, environment.pk, resource.key, generation)
        if environment.state == EnvironmentState.DESTROYING:
            resource.state = ResourceState.DELETING
        else:
            resource.state = ResourceState.CREATING if resource.aws_id else ResourceState.PENDING
        resource.attempts = 0
        resource.next_attempt_at = None
        resource.last_error = ""
        resource.last_error_code = ""
        resource.save()


def _begin_operation(origin: Origin, environment: Environment, *, action: str, previous: str, reason: str = "") -> None:
    environment.failure_reason = environment.failure_hint = environment.failure_code = ""
    environment.correlation_id = origin.correlation_id
    event = origin.record(
        action=action,
        target=environment,
        before={"state": previous},
        after={"state": environment.state},
        details={"reason": reason} if reason else {},
    )
    environment.cause_event_id = event.pk
    environment.save()
    # Leases stay: a step still running keeps its claim until it finishes.
    environment.resources.update(attempts=0, next_attempt_at=None)
    _enqueue_after_commit(ADVANCE_TASK, environment.pk)


def environment_extend(*, origin: Origin, environment_id: int, hours: int) -> Environment:
    """Push the expiry back by `hours`, within the team's maximum lifetime from now."""
    with transaction.atomic():
        environment = _locked_environment(origin, environment_id)
        if not permissions.can_extend(origin.user, environment):
            if environment.state in (EnvironmentState.DESTROYING, EnvironmentState.DESTROYED):
                raise Conflict(f"The environment is {environment.state}; there is nothing to extend.")
            raise PermissionDenied("Only the owner or an approver of the team may extend it.")
        if not isinstance(hours, int) or not 1 <= hours <= EXTEND_HOURS_MAX:
            raise ValidationError({"hours": [f"Give a whole number of hours from 1 to {EXTEND_HOURS_MAX}."]})
        now = timezone.now()
        new_expiry = max(environment.expires_at, now) + timedelta(hours=hours)
        latest = now + timedelta(hours=environment.team.max_ttl_hours)
        if new_expiry > latest:
            raise ValidationError(
                {"hours": [f"Team {environment.team.slug} allows at most {environment.team.max_ttl_hours} hours from now."]}
            )
        before = environment.expires_at
        environment.expires_at = new_expiry
        environment.expiry_warned_at = None
        environment.save(update_fields=["expires_at", "expiry_warned_at"])
        origin.record(
            action="environment.extended",
            target=environment,
            before={"expires_at": before.isoformat()},
            after={"expires_at": new_expiry.isoformat()},
            details={"hours": hours},
        )
    return environment


def environment_refresh(*, origin: Origin, environment_id: int) -> Environment:
    """Ask a worker to describe every resource again (drift and orphans)."""
    environment = environment_get_visible(origin.user, environment_id)
    if not permissions.may_refresh(origin.user, environment):
        raise PermissionDenied("Only the owner, an approver of the team or an admin may refresh it.")
    if environment.state not in permissions.REFRESHABLE_STATES:
        raise Conflict(f"The environment is {environment.state}; refresh it once the operation has ended.")
    with transaction.atomic():
        origin.record(action="environment.refresh_requested", target=environment)
        _enqueue_after_commit(REFRESH_TASK, environment.pk, origin.correlation_id)
    return environment

