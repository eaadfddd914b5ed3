"""The panel's pages. Thin: parse input, call a service or a selector, render.

One template per page; the parts htmx swaps are partials of it, rendered as `page.html#part`
when `request.htmx`, so every link and form also works without JavaScript.
"""

import ipaddress
import time
from functools import partial, wraps
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
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe
from django_htmx.http import HttpResponseClientRedirect, HttpResponseStopPolling

from accounts.selectors import teams_requestable_by
from audit.client_ip import client_ip
from audit.context import Origin
from audit.selectors import audit_head
from notify import selectors as notification_selectors
from notify import services as notifications
from sso.discovery import sso_enabled
from sso.views import reauth_url as sso_reauth_url

from . import permissions, presenters, queries, services
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
    ReauthForm,
    capacity_alternative,
)
from .models import Zone
from .provisioning import zones
from .selectors import approval_queue, environment_get_visible, request_get_visible

PAGE_SIZE = 25


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


def _suggested_ssh_cidr(request) -> str:
    """The requester's own address as a /32 (what the bastion's SSH rule most often needs)."""
    try:
        address = ipaddress.ip_address(client_ip(request) or "")
    except ValueError:
        return ""
    return f"{address}/32" if address.version == 4 else ""


def _may_request_somewhere(user) -> None:
    """Only members and approvers of some team request (auditors and admins outside teams do not)."""
    if not teams_requestable_by(user).exists():
        raise PermissionDenied("Only members of a team may request environments.")


def _request_form_context(request, form, prefill) -> dict:
    return {
        "form": form,
        "prefill": prefill,
        "capacity_alternative": capacity_alternative(prefill) if prefill else None,
        "suggested_ssh_cidr": _suggested_ssh_cidr(request),
    }


@login_required
@require_http_methods(["GET", "POST"])
def request_create(request):
    if request.method == "POST":  # the page itself tells those outside every team why they cannot
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
    plan = plan_hash = None
    if form.is_valid():
        plan, plan_hash = services.request_plan_preview(
            team=form.cleaned_data["team"], zone=form.cleaned_data["zone"], fields=form.request_fields()
        )
    context = {"form": form, "plan": plan, "plan_hash": plan_hash, "previewed": True}
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
    teams = list(queries.teams_for_filters(request.user))
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
        "login_is_recent": login_is_recent(request),
    }
    return render(request, "environments/request_detail.html", context, status=status)


@login_required
@require_safe  # a page: POST, PUT, PATCH, DELETE are 405
def request_detail(request, request_id):
    return _request_detail_page(request, request_id)


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
    teams = list(queries.teams_for_filters(request.user))
    zone_names = list(Zone.objects.only("name").order_by("name"))
    filter_form = EnvironmentFilterForm(request.GET or None, teams=teams, zones=zone_names)
    environments = queries.environment_rows(request.user, **filter_form.filters())
    page = Paginator(environments, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filter_form": filter_form,
        "query": query.urlencode(),
        "minute": presenters.current_minute(),  # rows are cached per minute (their "N minutes ago")
    }
    template = "environments/environment_list.html#environment-table" if request.htmx else "environments/environment_list.html"
    return render(request, template, context)


def _live_context(environment) -> dict:
    """What the detail page's live parts show: steps (polled), and what AWS last described (route
    tables, addresses, drift, traffic), re-sent by a poll only when its fingerprint moved."""
    resources = queries.environment_resources(environment)
    steps = presenters.environment_steps(environment, resources)
    traffic = presenters.environment_traffic(environment, resources)
    return {
        "environment": environment,
        "resources": resources,
        "steps": steps,
        "summary": presenters.steps_summary(environment, steps),
        "steps_fingerprint": presenters.steps_fingerprint(environment, steps),
        "route_tables": presenters.route_tables(resources, environment.plan),
        "drifted": presenters.drifted(resources),
        "addresses": presenters.environment_addresses(resources, environment),
        "traffic": traffic,
        "history": presenters.is_history(environment),
        "described_fingerprint": presenters.described_fingerprint(environment, resources, traffic),
        "polling": environment.state in ENVIRONMENT_POLLING_STATES,
    }


@login_required
@require_safe  # a page: POST, PUT, PATCH, DELETE are 405
def environment_detail(request, environment_id):
    environment = environment_get_visible(request.user, environment_id)
    user = request.user
    context = {
        **_live_context(environment),
        **permissions.environment_actions(user, environment),
        "can_request_again": environment.state == EnvironmentState.FAILED and environment.owner_id == user.pk,
        "extend_form": ExtendForm(),
        # Called by the template only when its cached copy of the trail is older than audit_head.
        "timeline_events": partial(queries.environment_timeline, environment),
        "audit_head": audit_head(),
    }
    return render(request, "environments/environment_detail.html", context)


@login_required
@require_GET
def environment_progress(request, environment_id):
    """The polled part of the detail page; 286 stops htmx polling once nothing is in flight.

    The described part rides along out of band only when it differs from the one the page shows.
    """
    environment = environment_get_visible(request.user, environment_id)
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
@require_POST
def environment_extend(request, environment_id):
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
        messages.success(request, f"{environment} now expires {environment.expires_at:%Y-%m-%d %H:%M} UTC.")
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


# --- Zones (admin) -------------------------------------------------------------------------------


def _admin_only(user) -> None:
    if not user.is_superuser:
        raise PermissionDenied("Only an admin may opt zone groups in.")


@login_required
@require_safe  # a page: POST, PUT, PATCH, DELETE are 405
def zone_list(request):
    _admin_only(request.user)
    cached = list(Zone.objects.order_by("group_name", "name"))
    groups: dict[str, list[Zone]] = {}
    for zone in cached:
        groups.setdefault(zone.group_name, []).append(zone)
    context = {
        "groups": [
            {"name": name, "zones": members, "opted_in": all(z.opted_in for z in members)} for name, members in groups.items()
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


@login_required
@require_POST
@recent_login_required(lambda group: f"{reverse('environments:zone_list')}?{urlencode({'group': group})}")
def zone_group_opt_in(request, group):
    _admin_only(request.user)
    try:
        zones.zone_group_opt_in(origin=Origin.from_request(request), group=group)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Zone group {group} is opted in; its zones can be requested now.")
    return redirect("environments:zone_list")
