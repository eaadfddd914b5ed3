"""Admins edit the group rules here; every change is an audit row (who, before, after)."""

from django.contrib import admin

from audit.context import Origin

from .models import GroupRule, Identity


@admin.register(GroupRule)
class GroupRuleAdmin(admin.ModelAdmin):
    list_display = ("group", "team", "team_role", "global_role")
    list_filter = ("team", "global_role")
    search_fields = ("group",)

    def save_model(self, request, obj, form, change):
        before = GroupRule.objects.get(pk=obj.pk).as_dict() if change else None
        super().save_model(request, obj, form, change)
        Origin.from_request(request).record(
            action="sso.group_rule_changed" if change else "sso.group_rule_added",
            target=obj,
            before=before,
            after=obj.as_dict(),
        )

    def delete_model(self, request, obj):
        before = obj.as_dict()
        super().delete_model(request, obj)
        Origin.from_request(request).record(action="sso.group_rule_deleted", target=None,
                                            target_repr=str(before), before=before)

    def delete_queryset(self, request, queryset):
        for rule in queryset:
            self.delete_model(request, rule)


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    list_display = ("user", "subject", "issuer", "last_login_at")
    search_fields = ("user__username", "subject")
    readonly_fields = ("user", "issuer", "subject", "groups", "last_login_at")

    def has_add_permission(self, request):
        return False
