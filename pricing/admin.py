"""The price cache, read-only: it is written only by the refresh from the Price List API."""

from django.contrib import admin

from .models import Price, PriceLocation


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PriceLocation)
class PriceLocationAdmin(ReadOnly):
    list_display = ("location", "listed", "checked_at")
    list_filter = ("listed",)


@admin.register(Price)
class PriceAdmin(ReadOnly):
    list_display = ("location", "kind", "instance_type", "usd", "unit", "sample", "source", "refreshed_at")
    list_filter = ("kind", "sample", "location")
    search_fields = ("location", "instance_type", "sku")
