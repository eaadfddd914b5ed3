"""Read-only admin views of the audit log and the AWS call log.

Nobody adds, changes or deletes audit rows here (the database trigger would refuse anyway); the
review pages at /audit/ are the auditors' tool. This changelist is also the benchmark's baseline.
"""

from django.contrib import admin

from wlpanel import admin_base

from .models import AuditEvent, AwsCall


class ReadOnlyAdmin(admin_base.ReadOnlyAdmin):
    # An exact COUNT(*) over the whole table on every page costs more than the page itself.
    show_full_result_count = False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "action", "actor_username", "target_repr", "team_slug", "environment_id", "source")
    list_filter = ("source",)
    search_fields = ("action", "actor_username", "target_repr")
    list_per_page = 50


@admin.register(AwsCall)
class AwsCallAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "operation", "outcome", "duration_ms", "environment_id", "cause_event_id")
    list_filter = ("outcome", "mutating")
    search_fields = ("operation", "request_id", "correlation_id")
    list_per_page = 50
