from django.apps import AppConfig


class QuotasConfig(AppConfig):
    name = "quotas"
    verbose_name = "Service quotas"
    default_auto_field = "django.db.models.BigAutoField"
