from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "policies"
    verbose_name = "Approval policies and team limits"
    default_auto_field = "django.db.models.BigAutoField"
