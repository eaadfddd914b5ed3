import secrets

from django.db import transaction
from django.utils import timezone

from audit.choices import Source
from audit.services import record

from .models import ApiToken, User


def api_token_issue(*, user: User, actor: User | None = None, source: str = Source.SHELL) -> str:
    """Create a bearer token for `user` and return it; only its hash is kept."""
    key = "wlp_" + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, key_hash=ApiToken.hash_key(key), prefix=key[4:12])
        record(
            actor=actor,
            action="api_token.issued",
            target=user,
            source=source,
            after={"token_prefix": token.prefix, "user": user.username},
        )
    return key


def api_token_authenticate(key: str) -> User | None:
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=ApiToken.hash_key(key), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
