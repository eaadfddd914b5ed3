from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "People and teams"

    def ready(self):
        from . import receivers  # noqa: F401  (login/logout audit)
