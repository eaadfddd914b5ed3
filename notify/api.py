"""/api/webhooks: a team's webhook endpoints and their delivery logs (docs/api.md, "Webhooks").

Thin: parse, call the services, serialize. The API root (`wlpanel.api`) mounts this router.
"""

from datetime import datetime
from typing import Annotated, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import Path, Router, Schema, Status
from pydantic import Field, StringConstraints

from accounts.models import Team
from accounts.selectors import teams_visible_to
from audit.choices import Source
from audit.context import Origin
from wlpanel.api_errors import answers
from wlpanel.pagination import keyset_page

from . import selectors, webhooks
from .choices import WebhookFormat

router = Router(tags=["webhooks"])


def _origin(request) -> Origin:
    return Origin.from_request(request, Source.API)


MAX_ID = 2**63 - 1
WebhookId = Annotated[int, Path(..., ge=1, le=MAX_ID)]
EventName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class WebhookIn(Schema):
    url: str = Field(..., min_length=1, max_length=500)
    events: list[EventName] = Field(..., min_length=1, max_length=webhooks.MAX_EVENTS)
    secret: str = Field(..., min_length=webhooks.SECRET_LENGTH[0], max_length=webhooks.SECRET_LENGTH[1])
    # The team's slug; may be left out by someone who manages exactly one team's webhooks.
    team: str | None = Field(None, min_length=1, max_length=50, pattern=r"^[-a-zA-Z0-9_]+$")
    format: Literal["json", "slack"] = WebhookFormat.JSON.value


class WebhookOut(Schema):
    id: int
    team: str
    url: str
    format: str
    events: list[str]
    created_at: datetime
    disabled_at: datetime | None


class WebhookPage(Schema):
    items: list[WebhookOut]
    count: int
    next: str | None


class DeliveryOut(Schema):
    id: int
    event: str
    state: str
    attempts: int
    last_status_code: int | None
    last_error: str
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    count: int
    next: str | None


def webhook_data(endpoint) -> dict:
    return {
        "id": endpoint.pk,
        "team": endpoint.team.slug,
        "url": endpoint.url,
        "format": endpoint.format,
        "events": endpoint.events,
        "created_at": endpoint.created_at,
        "disabled_at": endpoint.disabled_at,
    }


def delivery_data(delivery) -> dict:
    return {
        field: getattr(delivery, field)
        for field in ("event", "state", "attempts", "last_status_code", "last_error", "next_attempt_at", "created_at", "delivered_at")
    } | {"id": delivery.pk}


def _team_for(request, slug: str | None) -> Team:
    if slug is None:
        teams = list(selectors.webhook_teams_manageable_by(request.user)[:2])
        if len(teams) != 1:
            raise ValidationError({"team": ["Name the team (its slug)."]})
        return teams[0]
    team = teams_visible_to(request.user).filter(slug=slug).first()
    if team is None:
        raise Http404(f"No team {slug}.")
    return team


@router.get("/webhooks", response=answers({200: WebhookPage}, 400))
def webhook_list(request, team: Annotated[str, Field(max_length=50, pattern=r"^[-a-zA-Z0-9_]*$")] = "", limit: Annotated[int | None, Field(ge=1, le=500)] = None, cursor: Annotated[str | None, Field(max_length=100)] = None):
    endpoints = selectors.webhook_endpoints_manageable_by(request.user, team=team)
    return keyset_page(endpoints, limit=limit, cursor=cursor, serialize=webhook_data)


@router.post("/webhooks", response=answers({201: WebhookOut}, 400, 403, 404))
def webhook_create(request, payload: WebhookIn):
    endpoint = webhooks.webhook_endpoint_create(
        origin=_origin(request),
        team=_team_for(request, payload.team),
        url=payload.url,
        events=payload.events,
        secret=payload.secret,
        format=payload.format,
    )
    return Status(201, webhook_data(endpoint))


def _manageable(request, webhook_id: int):
    if not selectors.webhook_teams_manageable_by(request.user).exists():
        raise PermissionDenied("Only approvers of a team and admins manage webhooks.")
    endpoint = selectors.webhook_endpoint_get(request.user, webhook_id)
    if not webhooks.may_manage_webhooks(user=request.user, team=endpoint.team):
        raise PermissionDenied(f"Only approvers of team {endpoint.team.slug} and admins manage its webhooks.")
    return endpoint


@router.get("/webhooks/{webhook_id}", response=answers({200: WebhookOut}, 400, 403, 404))
def webhook_detail(request, webhook_id: WebhookId):
    return webhook_data(_manageable(request, webhook_id))


@router.get("/webhooks/{webhook_id}/deliveries", response=answers({200: DeliveryPage}, 400, 403, 404))
def webhook_delivery_list(request, webhook_id: WebhookId, limit: Annotated[int | None, Field(ge=1, le=500)] = None, cursor: Annotated[str | None, Field(max_length=100)] = None):
    endpoint = _manageable(request, webhook_id)
    return keyset_page(selectors.webhook_deliveries(endpoint), limit=limit, cursor=cursor, serialize=delivery_data)


@router.post("/webhooks/{webhook_id}/test", response=answers({202: DeliveryOut}, 400, 403, 404))
def webhook_send_test(request, webhook_id: WebhookId):
    delivery = webhooks.webhook_endpoint_send_test(origin=_origin(request), endpoint=_manageable(request, webhook_id))
    return Status(202, delivery_data(delivery))


@router.post("/webhooks/{webhook_id}/disable", response=answers({200: WebhookOut}, 400, 403, 404))
def webhook_disable(request, webhook_id: WebhookId):
    return webhook_data(webhooks.webhook_endpoint_disable(origin=_origin(request), endpoint=_manageable(request, webhook_id)))
