"""Webhooks: a team's endpoints, their signed deliveries and the retries (docs/api.md, "Webhooks").

Each delivery is a JSON POST with the header `X-Wlpanel-Signature: sha256=<hex HMAC-SHA256 of the
raw body with the endpoint's secret>`. The generic body is `{"event", "at", "delivery", "team",
"message", "url", "actions"}`; `at` is the time of the attempt, so a receiver can refuse replays,
and `delivery` stays the same across retries, so it can drop duplicates. The Slack body is an
incoming-webhook message (`{"text": ...}`) with the same signature header.
"""

import hashlib
import hmac
import json
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.selectors import is_team_approver
from audit.context import Origin

from .choices import ALL_EVENTS, EVENTS, TEST_EVENT, DeliveryState, WebhookFormat
from .destinations import DestinationRefused, destination_check, destination_post
from .emails import absolute_url
from .models import WebhookDelivery, WebhookEndpoint

DELIVER_TASK = "notify.deliver_webhook"
SIGNATURE_HEADER = "X-Wlpanel-Signature"
SECRET_LENGTH = (16, 256)
MAX_EVENTS = 50
# A claimed attempt holds its delivery this long past the request timeout, against duplicate messages.
CLAIM_MARGIN_SECONDS = 30


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def may_manage_webhooks(*, user, team) -> bool:
    """Team approvers and admins register, test and disable a team's webhooks."""
    return user.is_superuser or is_team_approver(user=user, team=team)


# --- Endpoints ------------------------------------------------------------------------------------


def _clean_events(events) -> list[str]:
    if not isinstance(events, list) or not events or len(events) > MAX_EVENTS:
        raise ValidationError({"events": [f"Give a list of 1 to {MAX_EVENTS} event names, or [\"*\"] for all."]})
    unknown = [event for event in events if not isinstance(event, str) or (event != ALL_EVENTS and event not in EVENTS)]
    if unknown:
        raise ValidationError({"events": [f"Unknown events: {', '.join(map(str, unknown))[:200]}. Known: {', '.join(EVENTS)}."]})
    return list(dict.fromkeys(events))


def _clean_url(url: str) -> str:
    try:
        URLValidator(schemes=["http", "https"])(url)
        if len(url) > 500 or not url.isprintable():
            raise ValidationError("at most 500 characters")
    except ValidationError as exc:
        raise ValidationError({"url": ["Give an http:// or https:// URL of at most 500 characters."]}) from exc
    try:
        destination_check(url)
    except DestinationRefused as exc:
        raise ValidationError({"url": [str(exc)]}) from exc
    return url


def webhook_endpoint_create(
    *, origin: Origin, team, url: str, events: list[str], secret: str, format: str = WebhookFormat.JSON
) -> WebhookEndpoint:
    if not may_manage_webhooks(user=origin.user, team=team):
        raise PermissionDenied(f"Only approvers of team {team.slug} and admins may add its webhooks.")
    errors = {}
    if format not in WebhookFormat.values:
        errors["format"] = [f"Choose one of: {', '.join(WebhookFormat.values)}."]
    if not isinstance(secret, str) or not SECRET_LENGTH[0] <= len(secret) <= SECRET_LENGTH[1] or not secret.isprintable():
        errors["secret"] = [f"Give a secret of {SECRET_LENGTH[0]} to {SECRET_LENGTH[1]} printable characters."]
    try:
        _clean_url(url)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        events = _clean_events(events)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            team=team, url=url, events=events, secret=secret, format=format, created_by=origin.user
        )
        origin.record(
            action="webhook.created",
            target=endpoint,
            team_slug=team.slug,
            after={"url": url, "events": endpoint.events, "format": format},
        )
    return endpoint


def webhook_endpoint_disable(*, origin: Origin, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    if not may_manage_webhooks(user=origin.user, team=endpoint.team):
        raise PermissionDenied(f"Only approvers of team {endpoint.team.slug} and admins may disable its webhooks.")
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().select_related("team").get(pk=endpoint.pk)
        if endpoint.disabled_at is None:
            endpoint.disabled_at = timezone.now()
            endpoint.save(update_fields=["disabled_at"])
            # What was still waiting is not sent any more.
            endpoint.deliveries.filter(state=DeliveryState.PENDING).update(
                state=DeliveryState.FAILED, last_error="The endpoint was disabled.", next_attempt_at=None
            )
            origin.record(action="webhook.disabled", target=endpoint, team_slug=endpoint.team.slug, after={"url": endpoint.url})
    return endpoint


def webhook_endpoint_send_test(*, origin: Origin, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """A `webhook.test` delivery to this endpoint only, whatever events it takes."""
    if not may_manage_webhooks(user=origin.user, team=endpoint.team):
        raise PermissionDenied(f"Only approvers of team {endpoint.team.slug} and admins may test its webhooks.")
    if not endpoint.is_enabled:
        raise ValidationError({"endpoint": ["The endpoint is disabled."]})
    message = f"A test from wlpanel, sent by {origin.user.get_username()} for team {endpoint.team.slug}."
    with transaction.atomic():
        (delivery,) = _deliveries_create([endpoint], event=TEST_EVENT, payload=_payload(endpoint.team, message, "/", []))
    return delivery


# --- Deliveries -----------------------------------------------------------------------------------


def _payload(team, message: str, link: str, actions: list[dict]) -> dict:
    return {
        "team": team.slug,
        "message": message,
        "url": absolute_url(link),
        "actions": [{"label": action["label"], "url": absolute_url(action["link"])} for action in actions],
    }


def _deliveries_create(endpoints, *, event: str, payload: dict) -> list[WebhookDelivery]:
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=endpoint, event=event, payload=payload) for endpoint in endpoints
    )
    ids = [delivery.pk for delivery in deliveries]
    # After commit: the worker must find the row, and a rolled-back event is never sent.
    transaction.on_commit(lambda: _deliveries_enqueue(ids))
    return deliveries


def _deliveries_enqueue(ids: list[int]) -> None:
    from .tasks import deliver_webhook  # the tasks module imports this one

    for pk in ids:
        deliver_webhook.delay(pk)


def webhooks_dispatch(*, team, event: str, message: str, link: str = "", actions: list[dict] | None = None) -> int:
    """Queue a delivery of `event` to every enabled endpoint of the team that takes it."""
    endpoints = [e for e in WebhookEndpoint.objects.filter(team=team, disabled_at__isnull=True) if e.wants(event)]
    if not endpoints:
        return 0
    return len(_deliveries_create(endpoints, event=event, payload=_payload(team, message, link, actions or [])))


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def delivery_body(delivery: WebhookDelivery, *, at) -> bytes:
    payload = delivery.payload
    if delivery.endpoint.format == WebhookFormat.SLACK:
        links = [f"<{payload['url']}|Open in wlpanel>"] + [f"<{a['url']}|{_slack_escape(a['label'])}>" for a in payload["actions"]]
        document = {"text": f"{_slack_escape(payload['message'])}\n{' · '.join(links)}"}
    else:
        document = {"event": delivery.event, "at": at.isoformat(), "delivery": delivery.pk, **payload}
    return json.dumps(document, separators=(",", ":")).encode()


def retry_countdown(attempts: int) -> float:
    """Exponential backoff after the attempts made so far: base, 2×base, 4×base … capped."""
    return min(settings.WLPANEL_WEBHOOK_RETRY_SECONDS * 2 ** (attempts - 1), settings.WLPANEL_WEBHOOK_MAX_BACKOFF_SECONDS)


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Take the delivery for one attempt, unless it is done, not due yet, or another worker has it."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .select_related("endpoint__team")
            .filter(pk=delivery_id, state=DeliveryState.PENDING)
            .first()
        )
        # A second of slack: the countdown message may arrive a hair before the time it was given.
        if delivery is None or (delivery.next_attempt_at and delivery.next_attempt_at > now + timedelta(seconds=1)):
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + timedelta(seconds=settings.WLPANEL_WEBHOOK_TIMEOUT_SECONDS * 2 + CLAIM_MARGIN_SECONDS)
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    return delivery


def webhook_delivery_attempt(*, delivery_id: int) -> float | None:
    """Try a delivery once; the seconds until the next attempt, or None when there is none."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    now = timezone.now()
    try:
        destination = destination_check(delivery.endpoint.url)
    except DestinationRefused as exc:
        # Refused now (the name resolves elsewhere than when it was registered): nothing is sent, ever.
        delivery.state, delivery.last_status_code, delivery.next_attempt_at = DeliveryState.FAILED, None, None
        delivery.last_error = f"Refused: {exc}"[:500]
        delivery.save(update_fields=["state", "last_status_code", "last_error", "next_attempt_at"])
        return None
    body = delivery_body(delivery, at=now)
    answer = destination_post(
        destination,
        body=body,
        headers={
            "Content-Type": "application/json",
            "User-Agent": "wlpanel-webhooks",
            "X-Wlpanel-Event": delivery.event,
            "X-Wlpanel-Delivery": str(delivery.pk),
            SIGNATURE_HEADER: signature(delivery.endpoint.secret, body),
        },
        timeout=settings.WLPANEL_WEBHOOK_TIMEOUT_SECONDS,
    )
    delivery.last_status_code = answer.status
    countdown = None
    if not answer.error:
        delivery.state, delivery.delivered_at, delivery.next_attempt_at = DeliveryState.DELIVERED, timezone.now(), None
    else:
        delivery.last_error = answer.error
        if delivery.attempts >= settings.WLPANEL_WEBHOOK_MAX_ATTEMPTS:
            delivery.state, delivery.next_attempt_at = DeliveryState.FAILED, None
        else:
            countdown = retry_countdown(delivery.attempts)
            delivery.next_attempt_at = timezone.now() + timedelta(seconds=countdown)
    delivery.save(update_fields=["state", "last_status_code", "last_error", "next_attempt_at", "delivered_at"])
    return countdown


def webhook_deliveries_due(*, now=None) -> list[int]:
    """Pending deliveries whose time has come and gone (their message was lost): to send again."""
    now = now or timezone.now()
    never_tried = Q(next_attempt_at__isnull=True, created_at__lte=now - timedelta(minutes=1))
    overdue = Q(next_attempt_at__lte=now - timedelta(seconds=CLAIM_MARGIN_SECONDS))
    return list(
        WebhookDelivery.objects.filter(never_tried | overdue, state=DeliveryState.PENDING)
        .order_by("id")
        .values_list("pk", flat=True)[:500]
    )

