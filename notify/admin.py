from django.contrib import admin

from .models import Notification, WebhookDelivery, WebhookEndpoint


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("user", "verb", "message", "created_at", "read_at")
    list_filter = ("verb",)
    list_select_related = ("user",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Read-only here: endpoints are added, tested and disabled on /notify/webhooks/ (audited)."""

    list_display = ("team", "url", "format", "created_at", "disabled_at")
    list_filter = ("format", "team")
    exclude = ("secret",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("endpoint", "event", "state", "attempts", "last_status_code", "last_error", "created_at")
    list_filter = ("state", "event")
    list_select_related = ("endpoint__team",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
