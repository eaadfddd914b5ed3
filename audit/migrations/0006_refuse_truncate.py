"""On PostgreSQL, refuse TRUNCATE on the audit tables too: it fires no row trigger (0002 misses it).

A statement-level trigger sharing 0002's function; only the owner could disable it, and
`audit_verify` names an emptied table against the latest checkpoint.
"""

from django.db import migrations

TABLES = ("audit_auditevent", "audit_awscall")

CREATE = "".join(
    f"""
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
"""
    for table in TABLES
)

DROP = "".join(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table};" for table in TABLES)


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_keyed_chain")]
    operations = [migrations.RunPython(install, uninstall)]
