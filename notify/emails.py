"""Email: one message per person, plain text and HTML, both linking back to the page in the panel."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string

log = logging.getLogger(__name__)

SUBJECT_LENGTH = 70


def absolute_url(link: str) -> str:
    """The panel's address of a path (`/environments/3/`); a full URL is kept as it is."""
    base = settings.WLPANEL_BASE_URL.rstrip("/")
    if not link:
        return base + "/"
    if link.startswith(("http://", "https://")):
        return link
    return base + (link if link.startswith("/") else "/" + link)


def email_message_build(*, user, event: str, message: str, link: str, actions: list[dict] | None = None) -> EmailMultiAlternatives:
    """The mail telling `user` about `event`: `actions` are extra buttons ({"label", "link"})."""
    context = {
        "user": user,
        "event": event,
        "message": message,
        "url": absolute_url(link),
        "actions": [{"label": action["label"], "url": absolute_url(action["link"])} for action in actions or []],
        "base_url": absolute_url(""),
    }
    subject = message if len(message) <= SUBJECT_LENGTH else message[: SUBJECT_LENGTH - 1] + "…"
    mail = EmailMultiAlternatives(
        subject=f"[wlpanel] {subject}",
        body=render_to_string("notify/email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers={"X-Wlpanel-Event": event},
    )
    mail.attach_alternative(render_to_string("notify/email.html", context), "text/html")
    return mail


def emails_send(mails: list[EmailMultiAlternatives]) -> int:
    """Send what can be sent; a mail server that is down is logged, never fails the caller's work."""
    if not mails:
        return 0
    try:
        with get_connection() as connection:
            return connection.send_messages(mails) or 0
    except Exception:  # smtplib and socket errors alike: the in-panel notification still stands
        log.exception("could not send %d notification mail(s) through %s", len(mails), settings.EMAIL_BACKEND)
        return 0
