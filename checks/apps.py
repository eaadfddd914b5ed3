from django.apps import AppConfig


class ChecksConfig(AppConfig):
    name = "checks"
    verbose_name = "Connectivity checks"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - the automatic run when a build is ready
