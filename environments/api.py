"""/api/ endpoints for teams, zones, requests and environments (docs/api.md).

Thin, like the pages: parse the body (bounded by `schemas.py`), call the same services, serialize.
Errors become {"detail", "errors"} through the handlers of the API root (`wlpanel.api`, which
mounts this router); each route declares the status codes it can answer (`wlpanel.api_errors`).
"""

from django.http import Http404
from ninja import Path, Router, Status
from ninja.errors import HttpError

from accounts.models import Membership
from accounts.selectors import teams_visible_to
from audit.choices import Source
from audit.context import Origin
from clouds.selectors import account_get_visible
from pricing.selectors import PriceBook, plan_cost
from quotas.selectors import plan_preflight
from wlpanel.api_errors import PlanConflictOut, answers
from wlpanel.pagination import keyset_page

from . import approvals, connect, network_view, presenters, queries, services
from .choices import EnvironmentState, RequestState
from .exceptions import PermissionDenied, PlanMismatch, ValidationError
from .models import Environment, EnvironmentRequest, Zone
from .provisioning import zones
from .provisioning.plan import plan_hash as compute_plan_hash
from .schemas import (
    AccountId,
    ApproveIn,
    Cursor,
    DecisionIn,
    EnvironmentDetailOut,
    EnvironmentPage,
    EnvironmentStateFilter,
    ExtendIn,
    Limit,
    NameFilter,
    ObjectId,
    ReasonIn,
    RegionName,
    RequestDetailOut,
    RequestIn,
    RequestPage,
    RequestStateFilter,
    TeamFilter,
    TeamPage,
    TrafficOut,
    ZoneFilter,
    ZoneGroup,
    ZonePage,
)
from .selectors import environment_get_visible, request_get_visible
from .views import login_is_recent

router = Router(tags=["environments"])


def _origin(request) -> Origin:
    return Origin.from_request(request, Source.API)


def _recent_login_if_session(request) -> None:
    """Sensitive actions (approve, destroy, opt-in) ask a browser session for the password again,
    as the pages do, so the API is no way around that; bearer tokens are not asked."""
    if not getattr(request, "auth_via_token", False) and not login_is_recent(request):
        raise PermissionDenied("Confirm your password first (/reauth/): your login is too old for this action.")


# --- Serializers (plain dicts; the schemas above validate and document them) ---------------------


def account_ref(account) -> dict | None:
    return {"account_id": account.account_id, "name": account.name} if account is not None else None


def zone_data(zone: Zone) -> dict:
    return {
        "name": zone.name,
        "account": account_ref(zone.account),
        "group": zone.group_name,
        "region": zone.region,
        "parent_zone": zone.parent_zone_name,
        "carrier": zone.carrier,
        "metro": zone.metro,
        "opt_in_status": zone.opt_in_status,
        "instance_types": zone.instance_types,
        "described_at": zone.described_at,
    }


def request_data(
    request: EnvironmentRequest, *, environment_id: int | None = None, plan: bool = False, book: PriceBook | None = None
) -> dict:
    data = {
        "id": request.pk,
        "name": request.name,
        "team": request.team.slug,
        "zone": request.zone.name,
        "account": account_ref(request.account),
        "instance_type": request.instance_type,
        "purpose": request.purpose,
        "bastion": request.bastion,
        "vpc_cidr": request.vpc_cidr,
        "public_subnet_cidr": request.public_subnet_cidr,
        "wavelength_subnet_cidr": request.wavelength_subnet_cidr,
        "bastion_ssh_cidr": request.bastion_ssh_cidr or None,
        "wavelength_ingress": request.wavelength_ingress,
        "ttl_hours": request.ttl_hours,
        "state": request.state,
        "requester": request.requester.get_username(),
        "decided_by": request.decided_by.get_username() if request.decided_by_id else None,
        "decided_at": request.decided_at,
        "decision_comment": request.decision_comment,
        "created_at": request.created_at,
        "plan_hash": request.plan_hash,
        "environment_id": environment_id,
        "prefilled_from": request.prefilled_from_id,
        # Beside the plan, never in it: the hash covers what is built, not what it costs today.
        "cost": plan_cost(request.plan, hours=request.ttl_hours, book=book),
        "policy": approvals.policy_data(request),
    }
    if plan:
        data["plan"] = request.plan
        # Beside the plan and outside its hash, like the cost; only while a decision is pending.
        data["preflight"] = plan_preflight(request.plan) if request.state == RequestState.PENDING else None
    return data


def environment_data(environment: Environment) -> dict:
    return {
        "id": environment.pk,
        "name": environment.name,
        "team": environment.team.slug,
        "state": environment.state,
        "zone": environment.zone.name,
        "account": account_ref(environment.account),
        "region": environment.region,
        "owner": environment.owner.get_username(),
        "request_id": environment.request_id,
        "plan_hash": environment.plan_hash,
        "expires_at": environment.expires_at,
        "created_at": environment.created_at,
        "ready_at": environment.ready_at,
        "destroyed_at": environment.destroyed_at,
        "failure_reason": environment.failure_reason,
        "failure_hint": environment.failure_hint,
        "failure_code": environment.failure_code,
    }


def environment_detail_data(environment: Environment, *, viewer: str = "") -> dict:
    """The environment as the API shows it; `viewer` is the caller's address, which decides
    whether the bastion admits them (as on the page)."""
    resources = queries.environment_resources(environment)
    steps = presenters.environment_steps(environment, resources)
    addresses = presenters.environment_addresses(resources, environment)
    ssh = connect.ssh_command(connect.environment_connection(environment, addresses, viewer=viewer))
    return {
        **environment_data(environment),
        "steps": [
            {
                "key": step.key,
                "kind": step.resource.kind,
                "title": step.title,
                "state": step.resource.state,
                "aws_id": step.resource.aws_id,
                "calls": list(step.calls),
                "attempts": step.resource.attempts,
                "started_at": step.resource.started_at,
                "finished_at": step.resource.finished_at,
                "duration_seconds": step.duration.total_seconds() if step.duration is not None else None,
                "error": step.resource.last_error,
                "error_code": step.resource.last_error_code,
                "next_attempt_at": step.resource.next_attempt_at,
            }
            for step in steps
        ],
        "resources": [
            {
                "key": r.key,
                "kind": r.kind,
                "state": presenters.resource_state(environment, r),
                "aws_id": r.aws_id,
                "tags": r.tags,
                "drift": r.drift,
                "described": r.described,
                "described_at": r.described_at,
            }
            for r in resources
        ],
        "route_tables": presenters.route_tables(resources, environment.plan),
        # `ssh` only when the page's connection section offers the command too.
        "addresses": {**addresses, "ssh": ssh} if ssh else addresses,
        "orphans": environment.orphans,
        "described_at": environment.described_at,
        "plan": environment.plan,
    }


# --- Teams and zones -----------------------------------------------------------------------------


@router.get("/teams", response=answers({200: TeamPage}, 400))
def team_list(request, limit: Limit | None = None, cursor: Cursor | None = None):
    roles = dict(Membership.objects.filter(user=request.user).values_list("team_id", "role"))
    return keyset_page(
        teams_visible_to(request.user),
        limit=limit,
        cursor=cursor,
        serialize=lambda team: {
            "slug": team.slug,
            "name": team.name,
            "role": roles.get(team.pk),
            "default_ttl_hours": team.default_ttl_hours,
            "max_ttl_hours": team.max_ttl_hours,
        },
    )


@router.get("/zones", response=answers({200: ZonePage}, 400, 404))
def zone_list(
    request,
    account: AccountId | None = None,
    region: RegionName | None = None,
    limit: Limit | None = None,
    cursor: Cursor | None = None,
):
    """The zone cache, per AWS account: `account` narrows to one account's zones (one the caller
    may see), `region` to one parent Region. Without `account`: every account the caller sees."""
    return keyset_page(
        queries.zones_visible(request.user, account_id=account, region=region),
        limit=limit,
        cursor=cursor,
        serialize=zone_data,
    )


@router.post("/zone-groups/{group}/opt-in", response=answers({202: ZonePage}, 400, 403, 404, 409))
def zone_group_opt_in(request, group: Path[ZoneGroup], account: AccountId | None = None):
    """Admin only. Opts the group in in `account` (default: the panel's own account); opt-ins are
    per account. Answers 202 as soon as AWS accepted it: the group's zones say `opt-in-requested`
    until AWS reports them `opted-in` (poll `GET /zones?account=`)."""
    if not request.user.is_superuser:
        raise PermissionDenied("Only an admin may opt zone groups in (opting out again needs AWS Support).")
    _recent_login_if_session(request)
    chosen = account_get_visible(request.user, account) if account else None
    opted = zones.zone_group_opt_in(origin=_origin(request), group=group, account=chosen)
    return Status(202, {"items": [zone_data(zone) for zone in opted], "count": len(opted), "next": None})


# --- Requests ------------------------------------------------------------------------------------


@router.get("/requests", response=answers({200: RequestPage}, 400))
def request_list(
    request,
    team: TeamFilter = "",
    state: RequestStateFilter = "",
    limit: Limit | None = None,
    cursor: Cursor | None = None,
):
    requests = queries.requests_filtered(request.user, team=team, state=state).prefetch_related("approvals__approver")
    book = PriceBook()  # one read of the price cache for the whole page
    return keyset_page(
        requests,
        limit=limit,
        cursor=cursor,
        serialize=lambda r: request_data(r, environment_id=_environment_id(r), book=book),
    )


def _environment_id(request: EnvironmentRequest) -> int | None:
    """The approved request's environment id (select_related'ed by the list query)."""
    try:
        return request.environment.pk
    except Environment.DoesNotExist:
        return None


@router.post("/requests", response=answers({201: RequestDetailOut}, 400, 403, 404))
def request_create(request, payload: RequestIn):
    team = teams_visible_to(request.user).filter(slug=payload.team).first()
    if team is None:
        raise Http404(f"No team {payload.team}.")
    zone = services.request_zone(team=team, zone_name=payload.zone, account_id=payload.account)
    if zone is None:
        where = f"account {payload.account}" if payload.account else "the zone cache of the team's account"
        raise ValidationError({"zone": [f"No Wavelength Zone named {payload.zone} in {where}."]})
    fields = payload.dict(exclude={"team", "zone", "account"})
    if fields["ttl_hours"] is None:
        fields["ttl_hours"] = team.default_ttl_hours
    created = services.environment_request_create(origin=_origin(request), team=team, zone=zone, **fields)
    return Status(201, request_data(created, plan=True))


@router.get("/requests/{request_id}", response=answers({200: RequestDetailOut}, 400, 404))
def request_detail(request, request_id: Path[ObjectId]):
    found = request_get_visible(request.user, request_id)
    return request_data(found, environment_id=_environment_id(found), plan=True)


@router.post(
    "/requests/{request_id}/approve",
    response=answers({200: RequestDetailOut}, 400, 403, 404, 409, conflict=PlanConflictOut),
)
def request_approve(request, request_id: Path[ObjectId], payload: ApproveIn):
    """`plan_hash` is required and must equal the hash of the request's plan, recomputed now:
    missing → 400, different → 409 with `given_plan_hash` and the request's `plan_hash`."""
    _recent_login_if_session(request)
    environment = services.environment_request_approve(
        origin=_origin(request), request_id=request_id, plan_hash=payload.plan_hash, comment=payload.comment
    )
    if environment is None:  # recorded; the policy needs another approver (state stays pending)
        return request_data(request_get_visible(request.user, request_id), plan=True)
    return request_data(environment.request, environment_id=environment.pk, plan=True)


@router.post(
    "/requests/{request_id}/reject",
    response=answers({200: RequestDetailOut}, 400, 403, 404, 409, conflict=PlanConflictOut),
)
def request_reject(request, request_id: Path[ObjectId], payload: DecisionIn | None = None):
    payload = payload or DecisionIn()
    _check_plan_hash(request, request_id, payload.plan_hash)
    rejected = services.environment_request_reject(origin=_origin(request), request_id=request_id, comment=payload.comment)
    return request_data(rejected, plan=True)


@router.post(
    "/requests/{request_id}/cancel",
    response=answers({200: RequestDetailOut}, 400, 403, 404, 409, conflict=PlanConflictOut),
)
def request_cancel(request, request_id: Path[ObjectId], payload: DecisionIn | None = None):
    payload = payload or DecisionIn()
    _check_plan_hash(request, request_id, payload.plan_hash)
    cancelled = services.environment_request_cancel(origin=_origin(request), request_id=request_id, comment=payload.comment)
    return request_data(cancelled, plan=True)


def _check_plan_hash(request, request_id: int, plan_hash: str | None) -> None:
    """Reject and cancel take `plan_hash` too (same body); when given it must be the hash of the
    request's plan, recomputed as an approval recomputes it."""
    if plan_hash is not None:
        current = compute_plan_hash(request_get_visible(request.user, request_id).plan)
        if current != plan_hash:
            raise PlanMismatch(given=plan_hash, current=current)


# --- Environments --------------------------------------------------------------------------------


@router.get("/environments", response=answers({200: EnvironmentPage}, 400))
def environment_list(
    request,
    team: TeamFilter = "",
    state: EnvironmentStateFilter = "",
    zone: ZoneFilter = "",
    name: NameFilter = "",
    limit: Limit | None = None,
    cursor: Cursor | None = None,
):
    environments = queries.environments_filtered(request.user, team=team, state=state, zone=zone, name=name)
    return keyset_page(environments, limit=limit, cursor=cursor, serialize=environment_data)


@router.get("/environments/{environment_id}", response=answers({200: EnvironmentDetailOut}, 400, 404))
def environment_detail(request, environment_id: Path[ObjectId]):
    return environment_detail_data(environment_get_visible(request.user, environment_id), viewer=connect.client_address(request))


@router.post("/environments/{environment_id}/destroy", response=answers({202: EnvironmentDetailOut}, 400, 403, 404, 409))
def environment_destroy(request, environment_id: Path[ObjectId], payload: ReasonIn | None = None):
    payload = payload or ReasonIn()
    _recent_login_if_session(request)
    environment = services.environment_destroy(
        origin=_origin(request), environment_id=environment_id, reason=payload.reason
    )
    return Status(202, environment_detail_data(environment, viewer=connect.client_address(request)))


@router.post("/environments/{environment_id}/extend", response=answers({200: EnvironmentDetailOut}, 400, 403, 404, 409))
def environment_extend(request, environment_id: Path[ObjectId], payload: ExtendIn):
    environment = services.environment_extend(origin=_origin(request), environment_id=environment_id, hours=payload.hours)
    return environment_detail_data(environment, viewer=connect.client_address(request))


@router.post("/environments/{environment_id}/retry", response=answers({202: EnvironmentDetailOut}, 400, 403, 404, 409))
def environment_retry(request, environment_id: Path[ObjectId]):
    environment = services.environment_retry(origin=_origin(request), environment_id=environment_id)
    return Status(202, environment_detail_data(environment, viewer=connect.client_address(request)))


@router.post("/environments/{environment_id}/refresh", response=answers({202: EnvironmentDetailOut}, 400, 403, 404, 409))
def environment_refresh(request, environment_id: Path[ObjectId]):
    environment = services.environment_refresh(origin=_origin(request), environment_id=environment_id)
    return Status(202, environment_detail_data(environment, viewer=connect.client_address(request)))


@router.get("/environments/{environment_id}/traffic", response=answers({200: TrafficOut}, 400, 404, 410))
def environment_traffic(request, environment_id: Path[ObjectId]):
    environment = environment_get_visible(request.user, environment_id)
    if environment.state == EnvironmentState.DESTROYED:
        raise HttpError(410, f"{environment} is destroyed: nothing of it is left in AWS, so no traffic can flow.")
    traffic = network_view.network_view_get(environment, queries.environment_resources(environment), items=True)["traffic"]
    return {"items": traffic["items"], "described_at": traffic["described_at"]}
