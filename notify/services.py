"""Notify people: in the panel, and by email (console backend under `make run`)."""

from django.conf import settings
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone

from .models import Notification


def notify(*, users, verb: str, message: str, link: str = "") -> None:
    users = [user for user in users if user is not None]
    if not users:
        return
    Notification.objects.bulk_create(Notification(user=user, verb=verb, message=message, link=link) for user in users)
    url = settings.WLPANEL_BASE_URL.rstrip("/") + link if link else settings.WLPANEL_BASE_URL
    mails = [
        (f"[wlpanel] {message[:70]}", f"{message}\n\n{url}\n", settings.DEFAULT_FROM_EMAIL, [user.email])
        for user in users
        if user.email
    ]
    if mails:
        # After commit: never mail about a decision that was rolled back.
        transaction.on_commit(lambda: send_mass_mail(mails, fail_silently=True))


def notifications_mark_read(*, user, notification_id: int | None = None) -> int:
    """Mark one (or all) of the user's own notifications read; others' are never touched."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=timezone.now())
