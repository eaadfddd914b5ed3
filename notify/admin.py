from django.contrib import admin

from wlpanel.admin_base import ReadOnlyAdmin

from .models import Notification, WebhookDelivery, WebhookEndpoint


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("user", "verb", "message", "created_at", "read_at")
    list_filter = ("verb",)
    list_select_related = ("user",)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    """Endpoints are added, tested and disabled on /notify/webhooks/ (audited); the secret is never shown."""

    list_display = ("team", "url", "format", "created_at", "disabled_at")
    list_filter = ("format", "team")
    list_select_related = ("team",)
    exclude = ("secret",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("endpoint", "event", "state", "attempts", "last_status_code", "last_error", "created_at")
    list_filter = ("state", "event")
    list_select_related = ("endpoint__team",)
