"""Celery tasks: thin, explicitly named entry points into the webhook deliveries."""

from celery import shared_task
from django.db import OperationalError

from . import webhooks

DATABASE_RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "max_retries": 5}


@shared_task(name=webhooks.DELIVER_TASK, **DATABASE_RETRY)
def deliver_webhook(delivery_id: int) -> None:
    countdown = webhooks.webhook_delivery_attempt(delivery_id=delivery_id)
    if countdown is not None:
        deliver_webhook.apply_async((delivery_id,), countdown=countdown)


@shared_task(name="notify.deliver_due_webhooks", **DATABASE_RETRY)
def deliver_due_webhooks() -> int:
    """Beat: deliveries whose message was lost (a worker killed mid-attempt) are sent again."""
    due = webhooks.webhook_deliveries_due()
    for delivery_id in due:
        deliver_webhook.delay(delivery_id)
    return len(due)
