"""Free-text search over the audit log: a trigram GIN index on one concatenated expression.

The expression must stay identical to `audit.selectors.SEARCH_TEXT_SQL`, or the planner will not
use the index (tests/audit/test_review.py checks the plan). PostgreSQL only: on the SQLite
stand-in the search still works, as a scan.
"""

from django.db import migrations

SEARCH_TEXT_SQL = (
    "(action || ' ' || actor_username || ' ' || target_type || ' ' || target_id || ' ' "
    "|| target_repr || ' ' || CAST(details AS text))"
)

CREATE = f"""
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS audit_search_trgm_idx ON audit_auditevent
    USING gin ({SEARCH_TEXT_SQL} gin_trgm_ops);
"""

DROP = "DROP INDEX IF EXISTS audit_search_trgm_idx;"


def install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_review_indexes")]
    operations = [migrations.RunPython(install, uninstall)]
