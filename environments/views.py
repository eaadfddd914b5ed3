"""The panel's pages. Thin: parse input, call a service or a selector, render.

One template per page; the parts htmx swaps are partials of it, rendered as `page.html#part`
when `request.htmx`, so every link and form also works without JavaScript.
"""

import time
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.decorators import login_required as django_login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from accounts.selectors import is_team_approver, teams_requestable_by
from audit.context import Origin
from clouds.models import AwsAccount
from notify import selectors as notification_selectors
from notify import services as notifications
from pricing.selectors import environment_cost, extension_cost, plan_cost
from quotas.selectors import plan_preflight
from sso.discovery import sso_enabled
from sso.views import reauth_url as sso_reauth_url

from . import approvals, connect, leases, network_view, permissions, presenters, queries, services
from .choices import ENVIRONMENT_POLLING_STATES, EnvironmentState, RequestState
from .exceptions import Conflict
from .forms import (
    ApproveForm,
    CancelForm,
    DecisionForm,
    DestroyForm,
    EnvironmentFilterForm,
    EnvironmentRequestForm,
    ExtendForm,
    ExtensionRequestForm,
    ReauthForm,
    capacity_alternative,
)
from .models import Zone
from .provisioning import keys, zones
from .selectors import approval_queue, environment_get_visible, request_get_visible

PAGE_SIZE = 25


class CountedPaginator(Paginator):
    """Pages of `rows`, counted by `counted`: the same filter without the joins a row's columns need."""

    def __init__(self, rows, per_page, *, counted):
        super().__init__(rows, per_page)
        self._counted = counted

    @cached_property
    def count(self) -> int:
        return self._counted.count()


def login_required(view):
    """Django's login_required, except that an htmx request (a poll, a partial) whose session has
    ended gets the whole page sent to the login form, not a login page swapped into a fragment."""
    protected = django_login_required(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.htmx and not request.user.is_authenticated:
            back_to = request.htmx.current_url_abs_path or request.get_full_path()
            return HttpResponseClientRedirect(redirect_to_login(back_to)["Location"])
        return protected(request, *args, **kwargs)

    return wrapper


# --- Re-authentication for sensitive actions (approve, destroy, opt-in) -------------------------


def login_is_recent(request) -> bool:
    """True when the password was entered within WLPANEL_REAUTH_SECONDS (set at login and re-auth)."""
    authenticated_at = request.session.get("authenticated_at") or 0
    return time.time() - authenticated_at <= settings.WLPANEL_REAUTH_SECONDS


def _redirect(request, url: str):
    """A redirect that also works for htmx requests (a 302 would be followed inside the swap)."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _reauth_redirect(request, next_url: str):
    return _redirect(request, f"{reverse('environments:reauth')}?{urlencode({'next': next_url})}")


def recent_login_required(return_to):
    """Ask for the password again before a sensitive action; afterwards come back to `return_to`,
    the page the action is on (a POST body cannot survive the detour, so the person repeats it)."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not login_is_recent(request):
                messages.info(request, "Please confirm your password to continue.")
                return _reauth_redirect(request, return_to(*args, **kwargs))
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


@login_required
@require_http_methods(["GET", "POST"])
def reauth(request):
    next_url = request.POST.get("next") or request.GET.get("next") or reverse("home")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("home")
    if sso_enabled() and not request.user.has_usable_password():
        return redirect(sso_reauth_url(next_url))  # the provider asks for the password
    form = ReauthForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = authenticate(request, username=request.user.get_username(), password=form.cleaned_data["password"])
        if user is not None and user.pk == request.user.pk:
            request.session["authenticated_at"] = int(time.time())
            Origin.from_request(request).record(action="user.reauthenticated", target=request.user)
            return redirect(next_url)
        form.add_error("password", "That is not your password.")
    return render(request, "environments/reauth_form.html", {"form": form, "next": next_url})


# --- Home ----------------------------------------------------------------------------------------


@login_required
@require_safe  # a page: POST, PUT, PATCH, DELETE are 405
def home(request):
    context = {
        "notifications": notification_selectors.notifications_unread(request.user),
        "approval_count": approval_queue(request.user).count(),
        "my_environments": queries.environments_of(request.user),
        "my_counts": queries.environment_counts_of(request.user),
        "my_requests": queries.requests_pending_of(request.user),
    }
    return render(request, "home.html", context)


@login_required
@require_POST
def notification_read(request, notification_id=None):
    notifications.notifications_mark_read(user=request.user, notification_id=notification_id)
    if request.htmx:
        return render(
            request, "home.html#notifications", {"notifications": notification_selectors.notifications_unread(request.user)}
        )
    return redirect("home")


# --- Requests ------------------------------------------------------------------------------------


def _may_request_somewhere(user) -> None:
    """Only members and approvers of some team request (auditors and admins outside teams do not)."""
    if not teams_requestable_by(user).exists():
        raise PermissionDenied("Only members of a team may request environments.")


def _request_form_context(request, form, prefill) -> dict:
    viewer = connect.client_address(request)
    cidr = (form["bastion_ssh_cidr"].value() or "").strip()
    return {
        "form": form,
        "prefill": prefill,
        "capacity_alternative": capacity_alternative(prefill) if prefill else None,
        "suggested_ssh_cidr": connect.suggested_ssh_cidr(viewer),
        "viewer_address": viewer,
        "ssh_warnings": connect.ssh_cidr_warnings(cidr, viewer),
    }


@login_required
@require_http_methods(["GET", "POST"])
def request_create(request):
    # An admin outside every team still sees the form (it is where zones' opt-in state shows);
    # anyone else outside every team is told why not, and nobody outside one may submit.
    if not request.user.is_superuser and not request.user.memberships.exists():
        raise PermissionDenied(
            "Only members of a team request environments"
            + (": an auditor reads everything and changes nothing." if request.user.is_auditor else ".")
            + " An admin adds people to teams."
        )
    if request.method == "POST":
        _may_request_somewhere(request.user)
    prefill = queries.request_to_prefill(request.user, request.POST.get("from") or request.GET.get("from"))
    if request.method == "POST":
        form = EnvironmentRequestForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                created = services.environment_request_create(
                    origin=Origin.from_request(request),
                    team=form.cleaned_data["team"],
                    zone=form.cleaned_data["zone"],
                    prefilled_from=prefill,
                    **form.request_fields(),
                )
            except ValidationError as exc:  # a race since the form checked: show it like any other
                form.add_service_errors(exc.message_dict)
            else:
                messages.success(request, f"Request {created} submitted: an approver of {created.team.slug} will review it.")
                return redirect("environments:request_detail", request_id=created.pk)
    else:
        initial = EnvironmentRequestForm.initial_from(prefill) if prefill else {}
        if not prefill:  # SSH to the bastion from: where the requester is, as the panel sees it
            initial["bastion_ssh_cidr"] = connect.suggested_ssh_cidr(connect.client_address(request))
        form = EnvironmentRequestForm(initial=initial, user=request.user)
    return render(request, "environments/request_form.html", _request_form_context(request, form, prefill))


@login_required
@require_GET
def request_instance_types(request):
    """The `instance-types` partial for the zone just chosen (the dependent select)."""
    form = EnvironmentRequestForm(
        initial={"zone": request.GET.get("zone", ""), "instance_type": request.GET.get("instance_type", "")},
        user=request.user,
    )
    return render(request, "environments/request_form.html#instance-types", {"form": form})


@login_required
@require_POST
def request_preview(request):
    """The `plan-preview` partial: every resource and AWS call the request would make, or its errors."""
    _may_request_somewhere(request.user)
    form = EnvironmentRequestForm(request.POST, user=request.user)
    plan = plan_hash = cost = policy = preflight = None
    if form.is_valid():
        plan, plan_hash = services.request_plan_preview(
            team=form.cleaned_data["team"], zone=form.cleaned_data["zone"], fields=form.request_fields()
        )
        fields = form.request_fields()
        cost = plan_cost(plan, hours=fields["ttl_hours"])
        policy = approvals.preview_policy(
            team=form.cleaned_data["team"], plan=plan, ttl_hours=fields["ttl_hours"], instance_type=fields["instance_type"]
        )
        preflight = plan_preflight(plan)
    cidr = (form["bastion_ssh_cidr"].value() or "").strip()
    context = {
        "form": form,
        "plan": plan,
        "plan_hash": plan_hash,
        "cost": cost,
        "policy": policy,
        "preflight": preflight,
        "poll_preview": bool(request.htmx),
        "previewed": True,
        "ssh_warnings": connect.ssh_cidr_warnings(cidr, connect.client_address(request)),
    }
    template = "environments/request_form.html#plan-preview" if request.htmx else "environments/request_form.html"
    if not request.htmx:
        context.update(_request_form_context(request, form, None))
    return render(request, template, context)


@login_required
@require_safe  # a page: POST, PUT, PATCH, DELETE are 405
def request_list(request):
    state = request.GET.get("state", "")
    if state not in RequestState.values:
        state = ""
    teams = queries.teams_for_filters(request.user)
    team = request.GET.get("team", "")
    if team not in {t.slug for t in teams}:
        team = ""
    requests = queries.requests_filtered(request.user, team=team, state=state)
    page = Paginator(queries.request_rows(requests), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "state": state,
        "states": RequestState.choices,
        "team": team,
        "teams": teams,
        "title": "Requests",
    }
    return render(request, "environments/request_list.html", context)


@login_required
@require_safe  # a page: POST, PUT, PATCH, DELETE are 405
def approval_list(request):
    page = Paginator(queries.request_rows(approval_queue(request.user)).order_by("-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "environments/request_list.html", {"page": page, "approvals": True, "title": "Approvals"})


def _request_detail_page(request, request_id, *, status: int = 200):
    env_request = request_get_visible(request.user, request_id)
    context = {
        "env_request": env_request,
        "environment": getattr(env_request, "environment", None) if env_request.state == RequestState.APPROVED else None,
        "can_decide": permissions.can_decide(request.user, env_request),
        "can_cancel": permissions.can_cancel(request.user, env_request),
        "is_requester": env_request.requester_id == request.user.pk,
        "decision_form": DecisionForm(initial={"plan_hash": env_request.plan_hash}),
        "ssh_warnings": connect.ssh_cidr_warnings(env_request.bastion_ssh_cidr),
        # Checked against AWS now, for whoever may decide: a key pair or AMI gone since the request.
        "override_problems": services.request_override_problems(env_request)
        if env_request.state == RequestState.PENDING and (env_request.key_name or env_request.image_id)
        else [],
        "login_is_recent": login_is_recent(request),
        "cost": plan_cost(env_request.plan, hours=env_request.ttl_hours),
        "policy": approvals.policy_data(env_request),
        "approved_by_me": env_request.approvals.filter(approver=request.user).exists(),
        # Beside the plan while it waits for a decision; afterwards the Region holds the build itself.
        "preflight": plan_preflight(env_request.plan) if env_request.state == RequestState.PENDING else None,
        "poll_url": reverse("environments:request_quotas", kwargs={"request_id": env_request.pk}),
    }
    return render(request, "environments/request_detail.html", context, status=status)


@login_required
@require_safe  # a page: POST, PUT, PATCH, DELETE are 405
def request_detail(request, request_id):
    return _request_detail_page(request, request_id)


@login_required
@require_safe
def request_quotas(request, request_id):
    """The `quotas` part of a request's page, polled until the stored reading is there."""
    env_request = request_get_visible(request.user, request_id)
    if env_request.state != RequestState.PENDING:
        return HttpResponseStopPolling()
    context = {
        "preflight": plan_preflight(env_request.plan),
        "poll_url": reverse("environments:request_quotas", kwargs={"request_id": env_request.pk}),
    }
    return render(request, "environments/_quotas.html", context)


def _request_url(request_id):
    return reverse("environments:request_detail", kwargs={"request_id": request_id})


@login_required
@require_POST
@recent_login_required(_request_url)
def request_approve(request, request_id):
    form = ApproveForm(request.POST)
    if not form.is_valid():
        # Nothing is approved without the plan it binds to: the page again, with what was wrong (400).
        for field, errors in form.errors.items():
            for error in errors:
                messages.error(request, f"{field}: {error}" if field != "__all__" else error)
        return _request_detail_page(request, request_id, status=400)
    try:
        environment = services.environment_request_approve(
            origin=Origin.from_request(request),
            request_id=request_id,
            # The hash of the plan the page showed, checked against the plan's hash recomputed now.
            plan_hash=form.cleaned_data["plan_hash"],
            comment=form.cleaned_data["comment"],
        )
    except Conflict as exc:  # PlanMismatch names both hashes
        messages.error(request, str(exc))
        return _request_detail_page(request, request_id, status=409)
    if environment is None:
        messages.success(request, "Your approval is recorded; the request's policy needs another approver before it is built.")
        return _redirect(request, _request_url(request_id))
    messages.success(request, f"Approved: {environment} is being built.")
    return _redirect(request, reverse("environments:environment_detail", kwargs={"environment_id": environment.pk}))


@login_required
@require_POST
def request_reject(request, request_id):
    form = DecisionForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        services.environment_request_reject(origin=Origin.from_request(request), request_id=request_id, comment=comment)
        messages.success(request, "Request rejected; the requester has been told.")
    except Conflict as exc:
        messages.error(request, str(exc))
    return _redirect(request, _request_url(request_id))


@login_required
@require_POST
def request_cancel(request, request_id):
    form = CancelForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    try:
        services.environment_request_cancel(origin=Origin.from_request(request), request_id=request_id, comment=comment)
        messages.success(request, "Request cancelled.")
    except Conflict as exc:
        messages.error(request, str(exc))
    return _redirect(request, _request_url(request_id))


# --- Environments --------------------------------------------------------------------------------


@login_required
@require_safe  # a page: POST, PUT, PATCH, DELETE are 405
def environment_list(request):
    teams = queries.teams_for_filters(request.user)
    zone_names = queries.zones_for_filters()
    filter_form = EnvironmentFilterForm(request.GET or None, teams=teams, zones=zone_names)
    sort, ordering = queries.environment_sort(request.GET.get("sort", ""))
    environments = queries.environments_filtered(request.user, visible_teams=teams, **filter_form.filters())
    rows = queries.environment_rows(environments, ordering=ordering)
    if request.GET.get("format") == "csv":
        return _environments_csv(rows)
    page = CountedPaginator(rows, PAGE_SIZE, counted=environments).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    filters_only = query.copy()
    filters_only.pop("sort", None)
    context = {
        "page": page,
        "filter_form": filter_form,
        "query": query.urlencode(),
        "filter_query": filters_only.urlencode(),
        "sort": sort,
    }
    template = "environments/environment_list.html#environment-table" if request.htmx else "environments/environment_list.html"
    return render(request, template, context)


ENVIRONMENT_CSV_COLUMNS = (
    ("id", "id"), ("name", "name"), ("team", "team_slug"), ("state", "state"), ("zone", "zone_name"),
    ("carrier", "zone_carrier"), ("metro", "zone_metro"), ("instance_type", "instance_type"),
    ("carrier_ip", "carrier_ip"), ("owner", "owner_username"), ("created_at", "created_at"), ("expires_at", "expires_at"),
)  # fmt: skip


def _environments_csv(rows) -> HttpResponse:
    """The list as filtered and sorted, every page, as CSV (times in UTC, ISO 8601)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header for header, _ in ENVIRONMENT_CSV_COLUMNS])
    for row in rows.iterator(chunk_size=500):
        live = row["state"] != EnvironmentState.DESTROYED
        writer.writerow(
            [
                (row[key].isoformat() if hasattr(row[key], "isoformat") else row[key] or "")
                if key != "carrier_ip" or live
                else ""
                for _, key in ENVIRONMENT_CSV_COLUMNS
            ]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="environments.csv"'
    return response


def _live_context(environment) -> dict:
    """What the detail page's live parts show: steps (polled), and what AWS last described (route
    tables, addresses, drift, traffic), re-sent by a poll only when its fingerprint moved."""
    resources = queries.environment_resources(environment)
    steps = presenters.environment_steps(environment, resources)
    view = network_view.network_view_get(environment, resources)  # stored when the description landed
    traffic = view["traffic"]
    return {
        "environment": environment,
        "resources": resources,
        "steps": steps,
        "summary": presenters.steps_summary(environment, steps),
        "route_tables": presenters.route_tables(resources, environment.plan),
        "drifted": presenters.drifted(resources),
        "addresses": presenters.environment_addresses(resources, environment),
        "traffic": traffic,
        "history": presenters.is_history(environment),
        "described_fingerprint": presenters.described_fingerprint(environment, resources, traffic),
        "security_html": view["security_html"],
        "polling": environment.state in ENVIRONMENT_POLLING_STATES,
    }


@login_required
@require_safe  # a page: POST, PUT, PATCH, DELETE are 405
def environment_detail(request, environment_id):
    environment = environment_get_visible(request.user, environment_id, with_network_view=True)
    user = request.user
    context = {
        **_live_context(environment),
        **permissions.environment_actions(user, environment),
        "can_request_again": environment.state == EnvironmentState.FAILED and environment.owner_id == user.pk,
        "extend_form": ExtendForm(),
        "cost": environment_cost(
            plan=environment.plan,
            created_at=environment.created_at,
            expires_at=environment.expires_at,
            ended_at=environment.destroyed_at,
        ),
        "timeline_events": queries.environment_timeline(environment),
    }
    context["connection"] = connect.environment_connection(
        environment, context["addresses"], viewer=connect.client_address(request)
    )
    return render(request, "environments/environment_detail.html", context)


@login_required
@require_GET
def environment_progress(request, environment_id):
    """The polled part of the detail page; 286 stops htmx polling once nothing is in flight.

    The described part rides along out of band only when it differs from the one the page shows.
    """
    environment = environment_get_visible(request.user, environment_id, with_network_view=True)
    context = {**_live_context(environment), "out_of_band": True}
    html = render_to_string("environments/environment_detail.html#environment-live", context, request=request)
    if request.GET.get("seen") != context["described_fingerprint"]:
        html += render_to_string("environments/environment_detail.html#environment-described", context, request=request)
    if context["polling"]:
        return HttpResponse(html)
    response = HttpResponseStopPolling(html)
    # The state settled: reload once so the header and the actions (destroy, retry…) follow it.
    response["HX-Refresh"] = "true"
    return response


def _environment_url(environment_id):
    return reverse("environments:environment_detail", kwargs={"environment_id": environment_id})


def _destroy_url(environment_id):
    return reverse("environments:environment_destroy", kwargs={"environment_id": environment_id})


@login_required
@require_http_methods(["GET", "POST"])
@recent_login_required(_destroy_url)
def environment_destroy(request, environment_id):
    """A confirmation page (type the name), then the teardown."""
    environment = environment_get_visible(request.user, environment_id)
    if not permissions.can_destroy(request.user, environment):
        raise PermissionDenied("You may not destroy this environment.")
    form = DestroyForm(request.POST or None, environment=environment)
    if request.method == "POST" and form.is_valid():
        try:
            services.environment_destroy(
                origin=Origin.from_request(request), environment_id=environment.pk, reason=form.cleaned_data["reason"]
            )
        except Conflict as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{environment} is being torn down.")
        return _redirect(request, _environment_url(environment.pk))
    return render(request, "environments/environment_destroy.html", {"environment": environment, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def environment_extend(request, environment_id):
    if request.method == "GET":
        return _extend_page(request, environment_id)
    form = ExtendForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(form.errors.get("hours", ["Give a whole number of hours."])))
        return _redirect(request, _environment_url(environment_id))
    try:
        environment = services.environment_extend(
            origin=Origin.from_request(request), environment_id=environment_id, hours=form.cleaned_data["hours"]
        )
    except (Conflict, ValidationError) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
    else:
        added = extension_cost(plan=environment.plan, hours=form.cleaned_data["hours"])
        cost = f" The extension adds an estimated ${added:.2f}." if added is not None else ""
        messages.success(request, f"{environment} now expires {environment.expires_at:%Y-%m-%d %H:%M} UTC.{cost}")
    return _redirect(request, _environment_url(environment_id))


@login_required
@require_POST
def environment_retry(request, environment_id):
    try:
        environment = services.environment_retry(origin=Origin.from_request(request), environment_id=environment_id)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Retrying {environment}: the failed steps start over.")
    return _redirect(request, _environment_url(environment_id))


@login_required
@require_POST
def environment_refresh(request, environment_id):
    try:
        services.environment_refresh(origin=Origin.from_request(request), environment_id=environment_id)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Refresh requested: a worker is describing every resource again.")
    return _redirect(request, _environment_url(environment_id))


# --- Key pairs ---------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def key_pair_list(request):
    """A region's key pairs, and the import of a public key (members of a team; audited)."""
    regions = sorted(set(Zone.objects.values_list("region", flat=True))) or list(settings.WLPANEL_AWS_REGIONS)
    region = request.POST.get("region") or request.GET.get("region") or (regions[0] if regions else "")
    if region not in regions:
        raise Http404("No such region.")
    may_import = request.user.memberships.exists()
    errors: dict = {}
    if request.method == "POST":
        if not may_import:
            raise PermissionDenied("Only members of a team import key pairs: they are for the environments they request.")
        try:
            imported = keys.key_pair_import(
                origin=Origin.from_request(request),
                region=region,
                name=request.POST.get("name", ""),
                public_key=request.POST.get("public_key", ""),
            )
        except ValidationError as exc:
            errors = exc.message_dict
        except Conflict as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Key pair {imported['name']} imported in {region}: choose it in a request.")
            return redirect(f"{reverse('environments:key_pair_list')}?{urlencode({'region': region})}")
    context = {
        "regions": regions,
        "region": region,
        "pairs": keys.key_pairs(region),
        "may_import": may_import,
        "errors": errors,
        "typed": {"name": request.POST.get("name", ""), "public_key": request.POST.get("public_key", "")},
    }
    return render(request, "environments/key_pair_list.html", context)


# --- Zones (admin) -------------------------------------------------------------------------------


def _admin_only(user) -> None:
    if not user.is_superuser:
        raise PermissionDenied("Only an admin may opt zone groups in.")


@login_required
@require_safe  # a page: POST, PUT, PATCH, DELETE are 405
def zone_list(request):
    _admin_only(request.user)
    # Opt-ins are per AWS account: a group is listed once per account (the panel's own first).
    cached = list(Zone.objects.select_related("account").order_by("account__name", "group_name", "name"))
    groups: dict[tuple, list[Zone]] = {}
    for zone in cached:
        groups.setdefault((zone.account, zone.group_name), []).append(zone)
    context = {
        "groups": [
            {
                "name": name,
                "account": account,
                "zones": members,
                "opted_in": all(z.opted_in for z in members),
                "opt_in_requested": any(z.opt_in_requested for z in members),
            }
            for (account, name), members in groups.items()
        ],
        "highlight": request.GET.get("group", ""),
    }
    return render(request, "environments/zone_list.html", context)


@login_required
@require_POST
def zone_group_opt_in_ask(request, group):
    """A member asks the admins to opt a zone group in; only an admin carries it out (/zones/).
    Asking is for those who may request (an auditor changes nothing, not even the admins' inbox)."""
    _may_request_somewhere(request.user)
    if not Zone.objects.filter(group_name=group).exists():
        raise Http404("No such zone group.")
    origin = Origin.from_request(request)
    admins = get_user_model().objects.filter(is_superuser=True, is_active=True)
    with transaction.atomic():
        origin.record(action="zone_group.opt_in_asked", target=None, target_repr=group, details={"group": group})
        notifications.notify(
            users=list(admins),
            verb="zone_group.opt_in_asked",
            message=f"{request.user.get_username()} asks to opt in the zone group {group} (opting out needs AWS Support).",
            link=f"{reverse('environments:zone_list')}?{urlencode({'group': group})}",
        )
    if request.htmx:
        return render(request, "environments/request_form.html#opt-in-asked", {"group": group})
    messages.success(request, f"The admins have been asked to opt in {group}.")
    return redirect("environments:request_create")


def _opt_in_url(group):
    return reverse("environments:zone_group_opt_in", kwargs={"group": group})


@login_required
@require_http_methods(["GET", "POST"])
@recent_login_required(_opt_in_url)
def zone_group_opt_in(request, group):
    """A confirmation page (the consequence spelled out; type the group's name), then the opt-in."""
    _admin_only(request.user)
    account_id = request.POST.get("account") or request.GET.get("account") or ""
    account = AwsAccount.objects.filter(account_id=account_id).first() if account_id else None
    if account_id and account is None:
        raise Http404("No such AWS account.")
    members = list(Zone.objects.filter(account=account, group_name=group).order_by("name"))
    if not members:
        raise Http404("No such zone group.")
    typed = request.POST.get("confirm", "").strip()
    error = ""
    if request.method == "POST":
        if typed == group:
            try:
                zones.zone_group_opt_in(origin=Origin.from_request(request), group=group, account=account)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            except Conflict as exc:
                messages.error(request, str(exc))
            else:
                messages.success(
                    request,
                    f"AWS accepted the opt-in of {group}; its zones show \"opt-in requested\" until AWS reports "
                    "them opted in (usually within minutes), then they can be requested.",
                )
            return redirect("environments:zone_list")
        error = f"Type {group} exactly to confirm."
    context = {
        "group": group,
        "account": account,
        "zones": members,
        "region": members[0].region,
        "askers": queries.zone_group_askers(group),
        "typed": typed,
        "error": error,
    }
    return render(request, "environments/zone_group_opt_in.html", context)


# --- The lease: one-click extension from a warning, and extension requests beyond the maximum ------


def _extend_page(request, environment_id):
    """Where an expiry warning's link lands: one button extends by the hours offered (within the
    team's maximum); beyond it, the owner asks an approver, and approvers decide here."""
    environment = environment_get_visible(request.user, environment_id)
    allowed = leases.extension_hours_allowed(environment)
    try:
        wanted = max(int(request.GET.get("hours", "24")), 1)
    except ValueError:
        wanted = 24
    wanted = min(wanted, leases.MAX_EXTENSION_HOURS)
    pending = list(environment.extension_requests.filter(state=RequestState.PENDING).select_related("requested_by"))
    context = {
        "environment": environment,
        "can_extend": permissions.can_extend(request.user, environment),
        "allowed": allowed,
        "offer": min(wanted, allowed),
        "wanted": wanted,
        "pending": [
            (extension, extension.requested_by_id != request.user.pk and is_team_approver(user=request.user, team=environment.team))
            for extension in pending
        ],
        "decided": environment.extension_requests.exclude(state=RequestState.PENDING).select_related("requested_by", "decided_by")[:10],
    }
    return render(request, "environments/environment_extend.html", context)


def _extend_page_url(environment_id) -> str:
    return reverse("environments:environment_extend", kwargs={"environment_id": environment_id})


@login_required
@require_POST
def extension_request_create(request, environment_id):
    if not permissions.can_extend(request.user, environment_get_visible(request.user, environment_id)):
        raise PermissionDenied("Only the owner or an approver of the team may ask to extend it.")
    form = ExtensionRequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
        return _redirect(request, _extend_page_url(environment_id))
    try:
        leases.extension_request_create(origin=Origin.from_request(request), environment_id=environment_id, **form.cleaned_data)
    except (Conflict, ValidationError) as exc:
        messages.error(request, " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc))
    else:
        messages.success(request, "Your extension request waits for an approver of the team.")
    return _redirect(request, _extend_page_url(environment_id))


def _extension_decide(request, extension_id, decide, done: str):
    environment_id = leases.extension_request_environment_id(user=request.user, extension_id=extension_id)
    try:
        decide(origin=Origin.from_request(request), extension_id=extension_id, comment=request.POST.get("comment", "")[:500])
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return _redirect(request, _extend_page_url(environment_id))


@login_required
@require_POST
def extension_request_approve(request, extension_id):
    return _extension_decide(request, extension_id, leases.extension_request_approve, "Extension approved.")


@login_required
@require_POST
def extension_request_reject(request, extension_id):
    return _extension_decide(request, extension_id, leases.extension_request_reject, "Extension rejected.")
