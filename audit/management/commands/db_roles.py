"""`manage.py db_roles`: create or update the owner and app roles (docs/api.md, "Roles" and "States"); run as a superuser."""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection

from audit.db_roles import db_roles_apply, db_roles_sql, password_verifier, schema_inventory


class Command(BaseCommand):
    help = (
        "Create or update, idempotently, the role that owns the schema and runs migrations and the "
        "role the app connects as (owns nothing; only reads and appends to the audit tables). "
        "Connect as a superuser (DATABASE_URL). Re-running it changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--owner", required=True, help="Role that owns the schema and runs migrations.")
        parser.add_argument(
            "--app", required=True, help="Role the web, worker and beat processes connect as."
        )
        parser.add_argument("--owner-password-env", metavar="VAR", help="Set the owner's password from $VAR.")
        parser.add_argument(
            "--app-password-env", metavar="VAR", help="Set the app role's password from $VAR."
        )
        parser.add_argument(
            "--print-sql", action="store_true", help="Print the statements instead of running them."
        )

    def handle(self, *args, owner, app, owner_password_env, app_password_env, print_sql, **options):
        if connection.vendor != "postgresql":
            raise CommandError(f"Database roles need PostgreSQL; DATABASE_URL points at {connection.vendor}.")
        try:
            statements = db_roles_sql(
                owner=owner,
                app=app,
                inventory=schema_inventory(connection=connection, owner=owner),
                owner_password_verifier=self._verifier(owner, owner_password_env),
                app_password_verifier=self._verifier(app, app_password_env),
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if print_sql:
            self.stdout.write("BEGIN;\n" + "".join(f"{statement};\n" for statement in statements) + "COMMIT;")
            return
        try:
            db_roles_apply(connection=connection, statements=statements)
        except DatabaseError as exc:
            raise CommandError(f"Nothing was changed: {exc}".strip()) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Roles in order: {owner} owns {connection.settings_dict['NAME']}; {app} owns nothing "
                f"({len(statements)} statements)."
            )
        )

    def _verifier(self, role: str, variable: str | None) -> str | None:
        if variable is None:
            return None
        password = os.environ.get(variable, "")
        if not password:
            raise CommandError(f"${variable} is unset or empty.")
        return password_verifier(connection=connection, role=role, password=password)
