"""Logins, logouts and failed logins are the first things the audit log records; and a user's
password or privileges changed without accounts.services (Django's own commands, a shell)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save, pre_save
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


# A safety net, not the way: services audit what they change themselves, and mark their saves.
_WATCHED_FIELDS = frozenset({"password", "username", "email", "is_active", "is_staff", "is_superuser", "global_role"})


@receiver(pre_save, sender="accounts.User")
def user_privileges_before(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None or getattr(instance, "saved_through_services", False):
        return
    if update_fields is not None and not _WATCHED_FIELDS.intersection(update_fields):
        return  # e.g. last_login on every login: no query
    instance.stored_privileges = sender.objects.filter(pk=instance.pk).values(*_WATCHED_FIELDS).first()


@receiver(post_save, sender="accounts.User")
def user_privileges_after(sender, instance, created, raw=False, **kwargs):
    stored = instance.__dict__.pop("stored_privileges", None)
    if stored is not None and not created:
        from .services import user_saved_outside_services

        user_saved_outside_services(user=instance, stored=stored)
