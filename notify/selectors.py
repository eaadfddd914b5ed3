from django.db.models import QuerySet
from django.http import Http404

from accounts.choices import TeamRole
from accounts.models import Membership, Team

from .models import Notification, NotificationClaim, WebhookDelivery, WebhookEndpoint


def notifications_unread(user, limit: int = 20) -> list[Notification]:
    return list(Notification.objects.filter(user=user, read_at__isnull=True).order_by("-id")[:limit])


def webhook_teams_manageable_by(user) -> QuerySet[Team]:
    """Teams whose webhooks the user manages: where they approve; every team for an admin."""
    if user.is_superuser:
        return Team.objects.all()
    return Team.objects.filter(memberships__user=user, memberships__role=TeamRole.APPROVER)


def webhook_endpoints_manageable_by(user, *, team: str = "") -> QuerySet[WebhookEndpoint]:
    endpoints = WebhookEndpoint.objects.filter(team__in=webhook_teams_manageable_by(user)).select_related("team")
    if team:
        endpoints = endpoints.filter(team__slug=team)
    return endpoints


def webhook_endpoint_get(user, endpoint_id: int) -> WebhookEndpoint:
    """The endpoint, for someone of its team (404 to anyone else; the services decide who may act)."""
    endpoint = WebhookEndpoint.objects.select_related("team").filter(pk=endpoint_id).first()
    if endpoint is None or not (user.is_superuser or Membership.objects.filter(user=user, team=endpoint.team).exists()):
        raise Http404("No such webhook.")
    return endpoint


def webhook_deliveries(endpoint: WebhookEndpoint) -> QuerySet[WebhookDelivery]:
    return endpoint.deliveries.all()


def notification_keys_claimed(keys) -> set[str]:
    """Which of these once-only notifications went out already."""
    return set(NotificationClaim.objects.filter(key__in=list(keys)).values_list("key", flat=True))
