"""Admins edit approval policies and team limits here; every save goes through the services
(a new policy version, an audit row), never straight to the table."""

from django.contrib import admin, messages

from audit.context import Origin

from . import services
from .models import ApprovalPolicy, TeamLimits


@admin.register(ApprovalPolicy)
class ApprovalPolicyAdmin(admin.ModelAdmin):
    """Saving, even from a version's change page, adds the team's next version."""

    list_display = ("team", "version", "default_approvals", "approval_window_hours", "created_by", "created_at")
    list_filter = ("team",)
    readonly_fields = ("version", "created_by", "created_at")
    fields = ("team", "default_approvals", "approval_window_hours", "rules", "version", "created_by", "created_at")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        added = services.policy_version_add(
            origin=Origin.from_request(request),
            team=obj.team,
            approval_window_hours=obj.approval_window_hours,
            default_approvals=obj.default_approvals,
            rules=obj.rules,
        )
        obj.pk, obj.version = added.pk, added.version
        if change:
            messages.info(request, f"Saved as version {added.version}; earlier versions are kept unchanged.")

    def save_related(self, request, form, formsets, change):
        pass  # no related objects; the policy row was written by the service


@admin.register(TeamLimits)
class TeamLimitsAdmin(admin.ModelAdmin):
    list_display = ("team", "monthly_budget_usd", "max_live_environments", "max_ttl_hours", "updated_at")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        services.team_limits_save(origin=Origin.from_request(request), limits=obj)
