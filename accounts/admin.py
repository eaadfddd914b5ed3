"""The Django admin for people, teams and tokens: every save and delete goes through accounts.services,
so each privilege change leaves an audit row (django_admin_log alone is editable and says little)."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm

from audit.choices import Source
from audit.context import Origin

from . import services
from .models import ApiToken, Membership, Team, User


def _origin(request) -> Origin:
    return Origin.from_request(request, Source.WEB)


class AuditedPasswordChangeForm(AdminPasswordChangeForm):
    """Keeps the new password for the admin's `log_change`, which has the request for the service."""

    def save(self, commit=True):
        self.user.pending_password = (
            self.cleaned_data["password1"] if self.cleaned_data.get("set_usable_password", True) else None
        )
        return self.user


@admin.register(User)
class WlpanelUserAdmin(UserAdmin):
    fieldsets = UserAdmin.fieldsets + (("wlpanel", {"fields": ("global_role",)}),)
    list_display = ("username", "email", "global_role", "is_superuser", "is_active")
    list_filter = ("global_role", "is_superuser", "is_active")
    change_password_form = AuditedPasswordChangeForm

    def save_model(self, request, obj, form, change):
        # Groups and permissions are privileges too: the service sets them, so the row shows them.
        services.user_save(
            origin=_origin(request),
            user=obj,
            groups=form.cleaned_data.get("groups"),
            permissions=form.cleaned_data.get("user_permissions"),
        )

    def log_change(self, request, obj, message):
        # The password page calls this right after its form's save(), with the request at hand.
        if hasattr(obj, "pending_password"):
            services.user_password_set(origin=_origin(request), user=obj, password=obj.pending_password)
            del obj.pending_password
        return super().log_change(request, obj, message)

    def delete_model(self, request, obj):
        services.user_delete(origin=_origin(request), user=obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            services.user_delete(origin=_origin(request), user=user)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "default_ttl_hours", "max_ttl_hours")
    search_fields = ("slug", "name")
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        services.team_save(origin=_origin(request), team=obj)

    def save_formset(self, request, form, formset, change):
        origin = _origin(request)
        memberships = formset.save(commit=False)  # nothing written yet: the services write
        for membership in formset.deleted_objects:
            services.membership_remove(origin=origin, membership=membership)
        for membership in memberships:
            services.membership_save(origin=origin, membership=membership)

    def delete_model(self, request, obj):
        services.team_delete(origin=_origin(request), team=obj)

    def delete_queryset(self, request, queryset):
        for team in queryset:
            services.team_delete(origin=_origin(request), team=team)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued by `issue_token` or their owner's page (the key is shown once); here they
    can be looked at and revoked."""

    list_display = ("prefix", "user", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "key_hash", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        origin = _origin(request)
        revoked = sum(services.api_token_revoke(origin=origin, token=token, reason="revoked in the admin") for token in queryset)
        self.message_user(request, f"{revoked} token(s) revoked.", messages.SUCCESS)
