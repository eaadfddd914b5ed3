from django.contrib import admin

from wlpanel.admin_base import ReadOnlyAdmin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ("user", "verb", "message", "created_at", "read_at")
    list_filter = ("verb",)
    list_select_related = ("user",)
