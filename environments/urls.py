from django.urls import path, register_converter

from . import validation, views


class ZoneGroupConverter:
    """A zone group's name as AWS writes them (us-west-2-wl1); anything else is a 404 before the view."""

    regex = f"[a-z0-9-]{{1,{validation.ZONE_GROUP_MAX}}}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ZoneGroupConverter, "zone_group")

app_name = "environments"

urlpatterns = [
    path("reauth/", views.reauth, name="reauth"),
    path("notifications/read/", views.notification_read, name="notification_read_all"),
    path("notifications/<int:notification_id>/read/", views.notification_read, name="notification_read"),
    path("requests/", views.request_list, name="request_list"),
    path("requests/new/", views.request_create, name="request_create"),
    path("requests/new/instance-types/", views.request_instance_types, name="request_instance_types"),
    path("requests/new/preview/", views.request_preview, name="request_preview"),
    path("requests/<int:request_id>/", views.request_detail, name="request_detail"),
    path("requests/<int:request_id>/quotas/", views.request_quotas, name="request_quotas"),
    path("requests/<int:request_id>/approve/", views.request_approve, name="request_approve"),
    path("requests/<int:request_id>/reject/", views.request_reject, name="request_reject"),
    path("requests/<int:request_id>/cancel/", views.request_cancel, name="request_cancel"),
    path("approvals/", views.approval_list, name="approval_list"),
    path("environments/", views.environment_list, name="environment_list"),
    path("environments/<int:environment_id>/", views.environment_detail, name="environment_detail"),
    path("environments/<int:environment_id>/progress/", views.environment_progress, name="environment_progress"),
    path("environments/<int:environment_id>/destroy/", views.environment_destroy, name="environment_destroy"),
    path("environments/<int:environment_id>/extend/", views.environment_extend, name="environment_extend"),
    path("environments/<int:environment_id>/retry/", views.environment_retry, name="environment_retry"),
    path(
        "environments/<int:environment_id>/extension-requests/",
        views.extension_request_create,
        name="extension_request_create",
    ),
    path("extension-requests/<int:extension_id>/approve/", views.extension_request_approve, name="extension_request_approve"),
    path("extension-requests/<int:extension_id>/reject/", views.extension_request_reject, name="extension_request_reject"),
    path("environments/<int:environment_id>/refresh/", views.environment_refresh, name="environment_refresh"),
    path("key-pairs/", views.key_pair_list, name="key_pair_list"),
    path("zones/", views.zone_list, name="zone_list"),
    path("zones/<zone_group:group>/opt-in/", views.zone_group_opt_in, name="zone_group_opt_in"),
    path("zones/<zone_group:group>/opt-in/ask/", views.zone_group_opt_in_ask, name="zone_group_opt_in_ask"),
]
