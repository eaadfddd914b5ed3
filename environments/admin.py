"""Django admin for the domain, read-mostly: state changes go through the services (and the audit
log), never through an admin form. Admins manage teams and users in `accounts.admin`."""

from django.contrib import admin

from wlpanel.admin_base import ReadOnlyAdmin

from .models import Environment, EnvironmentRequest, Resource, Zone


@admin.register(Zone)
class ZoneAdmin(admin.ModelAdmin):
    """Carrier and metro are curated labels (AWS does not return them): the only editable fields."""

    list_display = ("name", "group_name", "region", "carrier", "metro", "opt_in_status", "described_at")
    list_filter = ("region", "opt_in_status")
    search_fields = ("name", "group_name", "carrier", "metro")
    fields = ("name", "group_name", "region", "parent_zone_name", "opt_in_status", "instance_types", "described_at", "carrier", "metro")
    readonly_fields = ("name", "group_name", "region", "parent_zone_name", "opt_in_status", "instance_types", "described_at")

    def has_add_permission(self, request):
        return False


@admin.register(EnvironmentRequest)
class EnvironmentRequestAdmin(ReadOnlyAdmin):
    list_display = ("id", "team", "name", "requester", "zone", "instance_type", "state", "decided_by", "created_at")
    list_filter = ("state", "team")
    search_fields = ("name", "requester__username", "plan_hash")
    list_select_related = ("team", "requester", "zone", "decided_by")


class ResourceInline(admin.TabularInline):
    model = Resource
    fields = ("key", "kind", "state", "aws_id", "attempts", "last_error_code", "drift", "described_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Environment)
class EnvironmentAdmin(ReadOnlyAdmin):
    list_display = ("id", "team", "name", "owner", "zone", "state", "expires_at", "created_at")
    list_filter = ("state", "team", "zone")
    search_fields = ("name", "owner__username")
    list_select_related = ("team", "owner", "zone")
    inlines = [ResourceInline]
