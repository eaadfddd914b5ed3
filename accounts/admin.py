from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import ApiToken, Membership, Team, User


@admin.register(User)
class WlpanelUserAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + (("wlpanel", {"fields": ("global_role",)}),)
    list_display = ("username", "email", "global_role", "is_superuser", "is_active")
    list_filter = ("global_role", "is_superuser", "is_active")


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "default_ttl_hours", "max_ttl_hours")
    search_fields = ("slug", "name")
    inlines = [MembershipInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("key_hash", "prefix", "created_at", "last_used_at")
    list_filter = ("revoked_at",)
