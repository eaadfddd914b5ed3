"""Admin: AWS accounts and their teams, written through the audited services."""

from django.contrib import admin

from audit.context import Origin

from . import services
from .models import AwsAccount, TeamAccount


class TeamAccountInline(admin.TabularInline):
    model = TeamAccount
    extra = 1


@admin.register(AwsAccount)
class AwsAccountAdmin(admin.ModelAdmin):
    list_display = ("name", "account_id", "role_arn", "checked_at")
    search_fields = ("name", "account_id")
    readonly_fields = ("access_check", "checked_at")
    inlines = [TeamAccountInline]

    def save_model(self, request, obj, form, change):
        origin = Origin.from_request(request)
        fields = {name: form.cleaned_data.get(name, getattr(obj, name)) for name in services.EDITABLE_FIELDS}
        if change:
            services.account_update(origin=origin, account=AwsAccount.objects.get(pk=obj.pk), **fields)
        else:
            created = services.account_create(origin=origin, **fields)
            obj.pk = created.pk
            obj.refresh_from_db()

    def save_formset(self, request, form, formset, change):
        origin = Origin.from_request(request)
        for binding in formset.save(commit=False):
            services.account_bind_team(origin=origin, account=form.instance, team=binding.team, default=binding.is_default)
        for binding in formset.deleted_objects:
            services.account_unbind_team(origin=origin, account=form.instance, team=binding.team)
