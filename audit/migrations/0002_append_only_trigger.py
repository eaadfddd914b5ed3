"""On PostgreSQL, refuse UPDATE and DELETE on the audit tables whoever the client is.

In production the app connects as a role that owns nothing, so it cannot disable the trigger;
only the owner role that runs migrations can (and `audit_verify` would then see the change).
`manage.py db_roles` creates those two roles (docs/audit.md, "Database roles in production").
"""

from django.db import migrations

TABLES = ("audit_auditevent", "audit_awscall")

CREATE = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit rows are append-only: %% on %% refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
""" + "".join(
    f"""
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
"""
    for table in TABLES
)

DROP = "".join(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};" for table in TABLES) + (
    "DROP FUNCTION IF EXISTS audit_refuse_change();"
)


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
