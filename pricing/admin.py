"""The price cache, read-only: it is written only by the refresh from the Price List API."""

from django.contrib import admin

from wlpanel.admin_base import ReadOnlyAdmin as ReadOnly

from .models import Price, PriceLocation


@admin.register(PriceLocation)
class PriceLocationAdmin(ReadOnly):
    list_display = ("location", "listed", "checked_at")
    list_filter = ("listed",)


@admin.register(Price)
class PriceAdmin(ReadOnly):
    list_display = ("location", "kind", "instance_type", "usd", "unit", "sample", "source", "refreshed_at")
    list_filter = ("kind", "sample", "location")
    search_fields = ("location", "instance_type", "sku")
