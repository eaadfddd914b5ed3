"""Notify people: in the panel, and by email (console backend under `make run`)."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from .emails import email_message_build, emails_send
from .models import Notification, NotificationClaim
from .preferences import channels_for_people, team_channels
from .webhooks import webhooks_dispatch


def notify(
    *,
    users,
    verb: str,
    message: str,
    link: str = "",
    event: str | None = None,
    team=None,
    actions: list[dict] | None = None,
) -> None:
    """Tell `users` that `event` happened (`verb` when no event is named: the audit action name,
    e.g. `request.created`), in the panel and by email after commit, and the team's webhooks that
    take the event, as each person's and the team's preferences say. `actions` are one-click
    follow-ups ({"label", "link"})."""
    event = event or verb
    if team is not None and team_channels(team=team, event=event).webhook:
        webhooks_dispatch(team=team, event=event, message=message, link=link, actions=actions)
    users = [user for user in users if user is not None]
    if not users:
        return
    channels = channels_for_people(users=users, team=team, event=event)
    Notification.objects.bulk_create(
        Notification(user=user, verb=verb, message=message, link=link) for user in users if channels[user.pk].in_panel
    )
    mails = [
        email_message_build(user=user, event=event, message=message, link=link, actions=actions)
        for user in users
        if user.email and channels[user.pk].email
    ]
    if mails:
        # After commit: never mail about a decision that was rolled back.
        transaction.on_commit(lambda: emails_send(mails))


def notifications_mark_read(*, user, notification_id: int | None = None) -> int:
    """Mark one (or all) of the user's own notifications read; others' are never touched."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_id is not None:
        unread = unread.filter(pk=notification_id)
    return unread.update(read_at=timezone.now())


def notification_claim(*, key: str) -> bool:
    """Take the once-only notification `key`; False when it was taken already (by anyone, ever)."""
    try:
        with transaction.atomic():
            NotificationClaim.objects.create(key=key)
    except IntegrityError:
        return False
    return True

