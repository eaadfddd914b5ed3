"""Logins, logouts and failed logins are the first things the audit log records."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from audit.choices import Source
from audit.services import record, request_context


@receiver(user_logged_in)
def login_recorded(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session["authenticated_at"] = int(timezone.now().timestamp())
    record(actor=user, action="user.logged_in", target=user, source=Source.WEB, **request_context(request))


@receiver(user_logged_out)
def logout_recorded(sender, request, user, **kwargs):
    if user is not None:
        record(actor=user, action="user.logged_out", target=user, source=Source.WEB, **request_context(request))


@receiver(user_login_failed)
def login_failure_recorded(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    record(
        actor=None,
        action="user.login_failed",
        target=None,
        target_repr=f"user {username}",
        source=Source.WEB,
        details={"username": username},
        **request_context(request),
    )
