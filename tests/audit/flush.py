"""Let Django's test flush empty the audit tables, which refuse TRUNCATE (migration 0006).

Transactional tests end with `flush`, a TRUNCATE of every table. As the test database's owner it
lifts the TRUNCATE trigger around that one statement, in the same transaction, as an owner could
in production (and `audit_verify` would then name the emptied table against a checkpoint).
"""

from django.db.backends.postgresql.operations import DatabaseOperations

AUDIT_TABLES = ("audit_auditevent", "audit_awscall")


def allow_test_flush_of_audit_tables() -> None:
    original = DatabaseOperations.sql_flush
    if getattr(original, "lifts_audit_truncate_trigger", False):
        return

    def sql_flush(self, style, tables, **options):
        statements = original(self, style, tables, **options)
        guarded = [table for table in AUDIT_TABLES if table in tables]
        if not statements or not guarded:
            return statements
        disable = [f"ALTER TABLE {table} DISABLE TRIGGER {table}_no_truncate;" for table in guarded]
        enable = [f"ALTER TABLE {table} ENABLE TRIGGER {table}_no_truncate;" for table in guarded]
        return [*disable, *statements, *enable]

    sql_flush.lifts_audit_truncate_trigger = True
    DatabaseOperations.sql_flush = sql_flush
