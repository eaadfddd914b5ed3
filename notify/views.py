"""The notification pages: preferences (a person's, a team's defaults) and webhooks (a team's
endpoints, their delivery logs, "send test" and disable). Thin over the services, like the API."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from audit.context import Origin

from . import preferences, selectors, webhooks
from .choices import EVENTS
from .forms import WebhookForm


def _manageable(request, webhook_id: int):
    if not selectors.webhook_teams_manageable_by(request.user).exists():
        raise PermissionDenied("Only approvers of a team and admins manage webhooks.")
    endpoint = selectors.webhook_endpoint_get(request.user, webhook_id)
    if not webhooks.may_manage_webhooks(user=request.user, team=endpoint.team):
        raise PermissionDenied(f"Only approvers of team {endpoint.team.slug} and admins manage its webhooks.")
    return endpoint


@login_required
@require_http_methods(["GET", "POST"])
def webhook_list(request):
    if request.method == "POST" and not selectors.webhook_teams_manageable_by(request.user).exists():
        raise PermissionDenied("Only approvers of a team and admins add webhooks.")
    form = WebhookForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = webhooks.webhook_endpoint_create(origin=Origin.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
        else:
            messages.success(request, f"Webhook added for {endpoint.team.slug}: send a test to check it.")
            return redirect("notify:webhook_detail", webhook_id=endpoint.pk)
    endpoints = selectors.webhook_endpoints_manageable_by(request.user)
    return render(request, "notify/webhook_list.html", {"form": form, "endpoints": endpoints})


@login_required
@require_GET
def webhook_detail(request, webhook_id):
    endpoint = _manageable(request, webhook_id)
    deliveries = list(selectors.webhook_deliveries(endpoint)[:50])
    context = {"endpoint": endpoint, "deliveries": deliveries, "waiting": any(d.state == "pending" for d in deliveries)}
    template = "notify/webhook_detail.html#delivery-log" if request.htmx else "notify/webhook_detail.html"
    return render(request, template, context)


@login_required
@require_POST
def webhook_send_test(request, webhook_id):
    endpoint = _manageable(request, webhook_id)
    try:
        webhooks.webhook_endpoint_send_test(origin=Origin.from_request(request), endpoint=endpoint)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "A test delivery is on its way.")
    return redirect("notify:webhook_detail", webhook_id=endpoint.pk)


@login_required
@require_POST
def webhook_disable(request, webhook_id):
    endpoint = webhooks.webhook_endpoint_disable(origin=Origin.from_request(request), endpoint=_manageable(request, webhook_id))
    messages.success(request, f"Webhook to {endpoint.url} disabled.")
    return redirect("notify:webhook_detail", webhook_id=endpoint.pk)


def _posted_choices(request, channels) -> dict[str, set[str]]:
    return {event: {channel for channel in channels if request.POST.get(f"{event}:{channel}")} for event in EVENTS}


def _rows(table: list[dict], channels) -> list[dict]:
    """One row per event, with a checkbox per channel: (input name, label, checked)."""
    return [
        {**row, "cells": [(f"{row['event']}:{c}", preferences.CHANNEL_LABELS[c], row[c]) for c in channels]}
        for row in table
    ]


@login_required
@require_http_methods(["GET", "POST"])
def preference_list(request):
    """A person's choices, and the defaults of the teams they manage."""
    managed = list(selectors.webhook_teams_manageable_by(request.user))
    if request.method == "POST":
        origin = Origin.from_request(request)
        scope = request.POST.get("scope", "")
        if scope == "person":
            preferences.preferences_save(origin=origin, choices=_posted_choices(request, preferences.PERSON_CHANNELS))
            messages.success(request, "Your notification choices are saved.")
        else:
            team = next((team for team in managed if team.slug == scope), None)
            if team is None:
                raise PermissionDenied("Only approvers of a team and admins set its notification defaults.")
            preferences.preferences_save(origin=origin, team=team, choices=_posted_choices(request, preferences.TEAM_CHANNELS))
            messages.success(request, f"Team {team.slug}'s defaults are saved.")
        return redirect("notify:preference_list")
    context = {
        "person": _rows(preferences.preferences_table(user=request.user), preferences.PERSON_CHANNELS),
        "teams": [(team, _rows(preferences.preferences_table(team=team), preferences.TEAM_CHANNELS)) for team in managed],
        "person_channels": [preferences.CHANNEL_LABELS[c] for c in preferences.PERSON_CHANNELS],
        "team_channels": [preferences.CHANNEL_LABELS[c] for c in preferences.TEAM_CHANNELS],
    }
    return render(request, "notify/preference_list.html", context)
