from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit log"

    def ready(self):
        post_migrate.connect(_narrow_after_migrate, sender=self, dispatch_uid="audit.append_only_narrow")


def _narrow_after_migrate(sender, using, **kwargs):
    # Default privileges are schema-wide: take back what a migration just gave on the audit tables.
    from django.db import connections

    from .db_roles import append_only_narrow

    append_only_narrow(connection=connections[using])
