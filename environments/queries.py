"""Reads the panel and the API need beyond `selectors`: filtered lists, rows, notifications, an
environment's resources and audit trail. What the environment page makes of those rows (steps,
route tables, addresses, traffic matrix and topology) is `presenters`.
"""

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KeyTextTransform

from accounts.models import Team
from accounts.selectors import teams_visible_by_slug
from audit.selectors import environment_timeline as audit_timeline
from clouds.selectors import account_get_visible, accounts_visible, team_accounts
from wlpanel.compiled_query import AnyOf, CompiledQuery

from .choices import EnvironmentState, RequestState
from .models import Environment, EnvironmentRequest, Resource, Zone
from .selectors import environments_visible_to, requests_visible_to

# --- Lists ---------------------------------------------------------------------------------------


def environments_filtered(
    user, *, team: str = "", state: str = "", zone: str = "", name: str = "", visible_teams=None
) -> QuerySet[Environment]:
    """Visible environments (destroyed ones included), filtered by team slug, state, zone name, name.
    `visible_teams`: `teams_for_filters(user)` when already read."""
    environments = environments_visible_to(user, teams=visible_teams)
    if team:
        environments = environments.filter(team__slug=team)
    if state:
        environments = environments.filter(state=state)
    if zone:
        environments = environments.filter(zone__name=zone)
    if name:
        # The ids first, not an EXISTS in the same statement: once PostgreSQL's plan of the prepared
        # statement turned generic, the EXISTS version took 26 ms instead of 2.
        # One array parameter (any_of), not a placeholder per id: an address can name hundreds of
        # environments over time, and PostgreSQL planned the long IN list again on every page.
        named = list(_resources_named(name).order_by().values_list("environment_id", flat=True).distinct())
        environments = environments.filter(Q(name__icontains=name) | Q(id__any_of=named))
    # Lists never show the plan or the orphans: large JSON that only the detail page reads.
    return environments.defer("plan", "orphans").order_by("-id")


def _resources_named(term: str) -> QuerySet[Resource]:
    """The resources whose AWS id or described address is `term` (search by IP or id)."""
    return Resource.objects.filter(
        Q(aws_id=term)
        | Q(described__CarrierIp=term)
        | Q(described__PublicIpAddress=term)
        | Q(described__PrivateIpAddress=term)
    )


Environment._meta.get_field("id").register_lookup(AnyOf)


# The environments page's sort keys (?sort=…, "-" for descending) and the columns they order by.
ENVIRONMENT_SORTS = {
    "name": "name",
    "team": "team__slug",
    "state": "state",
    "zone": "zone__name",
    "instance": "request__instance_type",
    "owner": "owner__username",
    "created": "id",
    "expires": "expires_at",
}


def environment_sort(value: str) -> tuple[str, list[str]]:
    """(the sort as given, if known, else ""; the ORDER BY it means, newest first as the tiebreak)."""
    key = value.removeprefix("-")
    if key not in ENVIRONMENT_SORTS:
        return "", ["-id"]
    column = ENVIRONMENT_SORTS[key]
    ordering = [f"-{column}" if value.startswith("-") else column]
    return value, ordering if column == "id" else [*ordering, "-id"]


def environment_rows(environments: QuerySet[Environment], *, ordering: list[str] | None = None) -> QuerySet[dict]:
    """The environments page: `environments_filtered(...)` as plain rows of what a row shows (no
    model instances: building them cost more than the query). The Carrier IP is a subquery of the
    same statement, not a query per row."""
    carrier_ip = Resource.objects.filter(environment=OuterRef("pk"), key="carrier_ip").values(
        ip=KeyTextTransform("CarrierIp", "described")
    )[:1]
    return (
        environments.order_by(*(ordering or ["-id"]))
        .values(
            "id", "name", "state", "created_at", "expires_at",
            team_slug=F("team__slug"), owner_username=F("owner__username"),
            zone_name=F("zone__name"), zone_carrier=F("zone__carrier"), zone_metro=F("zone__metro"),
            instance_type=F("request__instance_type"), carrier_ip=Subquery(carrier_ip),
        )
    )  # fmt: skip


def requests_filtered(user, *, team: str = "", state: str = "") -> QuerySet[EnvironmentRequest]:
    requests = requests_visible_to(user).select_related("environment")
    if team:
        requests = requests.filter(team__slug=team)
    if state:
        requests = requests.filter(state=state)
    return requests.order_by("-id")


# What a row of the requests page shows.
REQUEST_ROW_FIELDS = (
    "name", "purpose", "instance_type", "state", "created_at",
    "team__slug", "zone__name", "requester__username",
)  # fmt: skip


def request_rows(requests: QuerySet[EnvironmentRequest]) -> QuerySet[EnvironmentRequest]:
    """A list of requests narrowed to the columns its rows show (not the plan, not the environment)."""
    return requests.select_related(None).select_related("team", "zone", "requester").only(*REQUEST_ROW_FIELDS)


def teams_for_filters(user) -> list[Team]:
    return teams_visible_by_slug(user)


def zones_for_filters() -> list[Zone]:
    """Every zone's name, by name (the environments list's zone filter); compiled once per process."""
    return _ZONE_NAMES.all()


_ZONE_NAMES = CompiledQuery(lambda: Zone.objects.only("name").order_by("name"))


def environments_of(user, limit: int = 10) -> list[Environment]:
    """The user's own environments that still exist (home page)."""
    return list(
        environments_visible_to(user).filter(owner=user).exclude(state=EnvironmentState.DESTROYED).order_by("-id")[:limit]
    )


LIVE_STATES = (EnvironmentState.PROVISIONING, EnvironmentState.READY)


def environment_counts_of(user) -> dict[str, int]:
    """How many of the user's environments are live (building or ready), failed, and ever made."""
    counts = {"live": 0, "failed": 0, "destroyed": 0, "total": 0}
    mine = Environment.objects.filter(owner=user).values_list("state", flat=True)
    for state in mine:
        counts["total"] += 1
        if state in LIVE_STATES:
            counts["live"] += 1
        elif state in (EnvironmentState.FAILED, EnvironmentState.DESTROY_FAILED):
            counts["failed"] += 1
        elif state == EnvironmentState.DESTROYED:
            counts["destroyed"] += 1
    return counts


def zone_group_askers(group: str) -> list[str]:
    """Who asked for the zone group to be opted in (usernames, from the audit log)."""
    from audit.models import AuditEvent

    return sorted(
        set(
            AuditEvent.objects.filter(action="zone_group.opt_in_asked", target_repr=group)
            .exclude(actor_username="")
            .values_list("actor_username", flat=True)
        )
    )


def requests_pending_of(user) -> list[EnvironmentRequest]:
    return list(requests_visible_to(user).filter(requester=user, state=RequestState.PENDING).order_by("-id"))


def request_to_prefill(user, request_id) -> EnvironmentRequest | None:
    """The visible request a new one is prefilled from (?from=<id>), or None."""
    try:
        return requests_visible_to(user).filter(pk=int(request_id)).first()
    except (TypeError, ValueError):
        return None


def environment_resources(environment: Environment) -> list[Resource]:
    return _ENVIRONMENT_RESOURCES.all(environment_id=environment.pk)


# Compiled once per process: every page and progress poll of an environment reads its resources.
_ENVIRONMENT_RESOURCES = CompiledQuery(
    lambda environment_id: Resource.objects.filter(environment_id=environment_id).order_by("id"), environment_id=int
)


def environment_timeline(environment: Environment) -> list:
    """The environment's audit trail (the audit review's selector), newest first."""
    return audit_timeline(environment.pk)


def zones_visible(user, *, account_id: str | None = None, region: str | None = None) -> QuerySet[Zone]:
    """The zone cache as `user` may see it: the panel's own account's zones and those of the AWS
    accounts they see; `account_id` narrows to one of those (404 otherwise), `region` to a Region."""
    zones = Zone.objects.select_related("account")
    if account_id:
        zones = zones.filter(account=account_get_visible(user, account_id))
    else:
        zones = zones.filter(Q(account=None) | Q(account__in=accounts_visible(user)))
    if region:
        zones = zones.filter(region=region)
    return zones


def request_zone_choices(teams) -> QuerySet[Zone]:
    """The zones a request of one of `teams` may name: those of each team's accounts, or the
    panel's own account's for a team with none."""
    accounts, own = set(), not teams  # no team: what the panel's own account offers, to look at
    for team in teams:
        bound = team_accounts(team)
        accounts.update(bound)
        own = own or not bound
    chosen = Q(account__in=accounts) | (Q(account=None) if own else Q(pk__in=[]))
    return Zone.objects.select_related("account").filter(chosen)
