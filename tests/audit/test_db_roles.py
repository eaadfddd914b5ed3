"""`manage.py db_roles`: the app runs as a role that owns nothing and cannot rewrite the audit log.

The integration tests build a scratch database and two roles of their own on the shared server
(roles are cluster-wide, hence random names), set them up the way an operator would (the command
as a superuser, `migrate` as the owner), then act as the app role: in a Django process for what
must work, over a plain connection for what must be refused.
"""

import json
import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from django.conf import settings

from audit.db_roles import SchemaInventory, db_roles_sql, narrowing_revokes
from tests.conftest import ROOT

# --- The statements, as plain data ----------------------------------------------------------------


def _inventory(**extra) -> SchemaInventory:
    return SchemaInventory(database="wlpanel", **extra)


def test_the_audit_tables_are_narrowed_after_the_schema_wide_grants():
    statements = db_roles_sql(
        owner="wlpanel_owner",
        app="wlpanel_app",
        inventory=_inventory(narrowed={"audit_auditevent": ("audit_auditevent_id_seq",)}),
    )

    grant_all = statements.index(
        'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "public" TO "wlpanel_app"'
    )
    narrow = statements.index('REVOKE ALL ON TABLE "public"."audit_auditevent" FROM PUBLIC, "wlpanel_app"')
    assert grant_all < narrow
    assert (
        statements[narrow + 1] == 'GRANT SELECT, INSERT ON TABLE "public"."audit_auditevent" TO "wlpanel_app"'
    )
    assert 'GRANT SELECT ON SEQUENCE audit_auditevent_id_seq TO "wlpanel_app"' in statements
    assert 'ALTER DATABASE "wlpanel" OWNER TO "wlpanel_owner"' in statements
    assert not any(
        "audit_awscall" in statement for statement in statements
    )  # not there yet: nothing to narrow


def test_objects_owned_by_another_role_are_handed_to_the_owner():
    statements = db_roles_sql(
        owner="o",
        app="a",
        inventory=_inventory(
            foreign_owned=(("TABLE", "accounts_team"), ("ROUTINE", "audit_refuse_change()"))
        ),
    )

    assert 'ALTER TABLE accounts_team OWNER TO "o"' in statements
    assert 'ALTER ROUTINE audit_refuse_change() OWNER TO "o"' in statements


@pytest.mark.parametrize(
    ("owner", "app"), [("wlpanel", "wlpanel"), ("wlpanel_owner", 'app"; DROP TABLE x; --'), ("", "app")]
)
def test_role_names_must_be_two_plain_names(owner, app):
    with pytest.raises(ValueError):
        db_roles_sql(owner=owner, app=app, inventory=_inventory())


def test_the_command_must_not_run_as_one_of_the_roles_it_demotes():
    with pytest.raises(ValueError, match="connect as a superuser, not as wlpanel"):
        db_roles_sql(owner="wlpanel", app="wlpanel_app", inventory=_inventory(current_user="wlpanel"))


def test_narrowing_takes_back_only_what_the_audit_tables_do_not_allow():
    grants = [
        ("audit_auditevent", False, '"wlpanel_app"', privilege, "audit_auditevent")
        for privilege in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
    ] + [
        ("audit_auditevent", False, '"reporting"', "SELECT", "audit_auditevent"),
        ("audit_auditevent_id_seq", True, '"wlpanel_app"', "UPDATE", "audit_auditevent"),
        ("audit_auditevent_id_seq", True, '"wlpanel_app"', "SELECT", "audit_auditevent"),
        ("django_migrations", False, "PUBLIC", "INSERT", "django_migrations"),
    ]

    assert narrowing_revokes(grants) == [
        'REVOKE UPDATE, DELETE, TRUNCATE ON TABLE audit_auditevent FROM "wlpanel_app"',
        'REVOKE UPDATE ON SEQUENCE audit_auditevent_id_seq FROM "wlpanel_app"',
        "REVOKE INSERT ON TABLE django_migrations FROM PUBLIC",
    ]


# --- A real database set up as in production ---------------------------------------------------------


class Scratch:
    def __init__(self):
        database = settings.DATABASES["default"]
        self.server = f"{database.get('HOST') or '127.0.0.1'}:{database.get('PORT') or 5432}"
        self.superuser = database.get("USER") or "postgres"
        suffix = uuid.uuid4().hex[:10]
        self.database = f"wlroles_{suffix}"
        self.owner = f"wlroles_owner_{suffix}"
        self.app = f"wlroles_app_{suffix}"

    def url(self, role: str, database: str | None = None) -> str:
        return f"postgres://{role}@{self.server}/{database or self.database}"

    def connect(self, role: str, database: str | None = None) -> psycopg.Connection:
        return psycopg.connect(
            self.url(role, database).replace("postgres://", "postgresql://"), autocommit=True
        )

    def manage(self, role: str, *args: str, extra_env: dict | None = None) -> str:
        """`manage.py ARGS` connected as `role`; returns its output, fails the test on a non-zero exit."""
        env = {**os.environ, "DATABASE_URL": self.url(role), "WLPANEL_ENV": "local", **(extra_env or {})}
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, (
            f"manage.py {' '.join(args)} as {role} failed:\n{result.stdout}\n{result.stderr}"
        )
        return result.stdout

    def db_roles(self, *extra: str, extra_env: dict | None = None) -> str:
        return self.manage(
            self.superuser, "db_roles", "--owner", self.owner, "--app", self.app, *extra, extra_env=extra_env
        )

    def query(self, sql: str, params=()) -> list[tuple]:
        with self.connect(self.superuser) as conn:
            return conn.execute(sql, params).fetchall()

    def drop(self) -> None:
        with self.connect(self.superuser, "postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            # The database held every grant and default privilege naming the roles: they now go cleanly.
            conn.execute(f'DROP ROLE IF EXISTS "{self.app}"')
            conn.execute(f'DROP ROLE IF EXISTS "{self.owner}"')


APP_PASSWORD = "wlroles-app-password-Zq7"


@pytest.fixture(scope="module")
def scratch():
    scratch = Scratch()
    try:
        with scratch.connect(scratch.superuser, "postgres") as conn:
            conn.execute(f'CREATE DATABASE "{scratch.database}"')
        # A deployment that a superuser migrated before the roles existed: its tables change hands.
        scratch.manage(scratch.superuser, "migrate", "contenttypes", "-v0")
        scratch.db_roles(
            "--app-password-env", "WLROLES_APP_PASSWORD", extra_env={"WLROLES_APP_PASSWORD": APP_PASSWORD}
        )
        # The rest, audit tables included, is created by the owner after the default privileges exist.
        scratch.manage(scratch.owner, "migrate", "-v0")
        yield scratch
    finally:
        scratch.drop()


APP_SCRIPT = """
import json
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from accounts.models import Team
from audit.models import AuditEvent, AwsCall
from audit.services import aws_call_record

user = get_user_model().objects.create_user("dana", password="wlroles-Dana-pw-42")
Team.objects.create(slug="edge", name="Edge").memberships.create(user=user, role="approver")
client = Client()
login = client.post("/login/", {"username": "dana", "password": "wlroles-Dana-pw-42"})
home = client.get("/")
logout = client.post("/logout/")
call_command("issue_token", "dana", stdout=open("/dev/null", "w"))
aws_call_record(region="us-west-2", operation="DescribeVpcs", outcome="ok", duration_ms=3)
call_command("audit_verify")
print(json.dumps({
    "status": [login.status_code, home.status_code, logout.status_code],
    "actions": list(AuditEvent.objects.order_by("id").values_list("action", flat=True)),
    "aws_calls": AwsCall.objects.count(),
}))
"""


def test_the_panel_and_the_audit_writer_work_as_the_app_role(scratch):
    output = scratch.manage(scratch.app, "shell", "-c", APP_SCRIPT)

    result = json.loads(output.strip().splitlines()[-1])
    assert result["status"] == [302, 200, 302]
    assert result["actions"] == ["user.logged_in", "user.logged_out", "api_token.issued"]
    assert result["aws_calls"] == 1
    assert "Audit chain OK: 3 rows verified" in output
    # What the app wrote is there, seen by another role.
    assert scratch.query("SELECT username, last_login IS NOT NULL FROM accounts_user") == [("dana", True)]
    assert scratch.query("SELECT count(*) FROM accounts_apitoken")[0][0] == 1


REFUSED = {
    "UPDATE audit_auditevent SET action = 'x'": "permission denied for table audit_auditevent",
    "DELETE FROM audit_auditevent": "permission denied for table audit_auditevent",
    "TRUNCATE audit_auditevent": "permission denied for table audit_auditevent",
    "UPDATE audit_awscall SET outcome = 'x'": "permission denied for table audit_awscall",
    "DELETE FROM audit_awscall": "permission denied for table audit_awscall",
    "TRUNCATE audit_awscall": "permission denied for table audit_awscall",
    "SELECT setval('audit_auditevent_id_seq', 1)": "permission denied for sequence audit_auditevent_id_seq",
    "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only": "must be owner of table audit_auditevent",
    "DROP TRIGGER audit_awscall_append_only ON audit_awscall": "must be owner of relation audit_awscall",
    "DROP FUNCTION audit_refuse_change()": "must be owner of function audit_refuse_change",
    "CREATE TABLE shadow (id int)": "permission denied for schema public",
    "DELETE FROM django_migrations": "permission denied for table django_migrations",
}


@pytest.mark.parametrize("statement", REFUSED)
def test_the_app_role_cannot_rewrite_the_audit_log_or_change_the_schema(scratch, statement):
    with scratch.connect(scratch.app) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
        conn.execute(statement)

    # A privilege error, not the trigger's "append-only" refusal: this holds without the trigger.
    assert REFUSED[statement] in str(refused.value)


def test_the_owner_owns_everything_and_the_app_role_nothing(scratch):
    not_the_owners = scratch.query(
        """
        SELECT c.oid::regclass::text FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND pg_get_userbyid(c.relowner) <> %(owner)s
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
        UNION ALL
        SELECT p.oid::regprocedure::text FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace AND pg_get_userbyid(p.proowner) <> %(owner)s
          AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
        """,
        {"owner": scratch.owner},
    )
    assert not_the_owners == []
    assert scratch.query(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()"
    ) == [(scratch.owner,)]
    (app,) = scratch.query(
        """SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin, rolpassword,
                  pg_has_role(rolname, %(owner)s, 'MEMBER'), has_schema_privilege(rolname, 'public', 'CREATE'),
                  has_database_privilege(rolname, current_database(), 'CREATE')
           FROM pg_authid WHERE rolname = %(app)s""",
        {"owner": scratch.owner, "app": scratch.app},
    )
    superuser, createdb, createrole, login, password, member_of_owner, create_in_schema, create_in_db = app
    assert (superuser, createdb, createrole, login) == (False, False, False, True)
    assert password.startswith("SCRAM-SHA-256$") and APP_PASSWORD not in password
    assert (member_of_owner, create_in_schema, create_in_db) == (False, False, False)


def _app_privileges(scratch, relation: str) -> list[str]:
    rows = scratch.query(
        "SELECT a.privilege_type FROM pg_class c, aclexplode(c.relacl) a "
        "WHERE c.oid = to_regclass(%s) AND a.grantee = to_regrole(%s) ORDER BY 1",
        [relation, scratch.app],
    )
    return [privilege for (privilege,) in rows]


def test_a_migration_granting_more_on_the_audit_log_is_taken_back_by_migrate(scratch):
    # A fresh install already went through this: the audit tables were created after the default
    # privileges (all four rights), and the migrate that created them narrowed them.
    assert _app_privileges(scratch, "audit_auditevent") == ["INSERT", "SELECT"]
    assert _app_privileges(scratch, "environments_environment") == ["DELETE", "INSERT", "SELECT", "UPDATE"]
    with scratch.connect(scratch.owner) as conn:  # what a careless future migration might run
        conn.execute(f'GRANT ALL ON audit_awscall, django_migrations TO "{scratch.app}"')
    assert "UPDATE" in _app_privileges(scratch, "audit_awscall")

    scratch.manage(scratch.owner, "migrate", "-v0")

    assert _app_privileges(scratch, "audit_awscall") == ["INSERT", "SELECT"]
    assert _app_privileges(scratch, "django_migrations") == ["SELECT"]


SNAPSHOT = """
SELECT 'relation', c.oid::regclass::text, pg_get_userbyid(c.relowner), c.relacl::text
    FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
UNION ALL SELECT 'default', d.defaclobjtype::text, pg_get_userbyid(d.defaclrole), d.defaclacl::text FROM pg_default_acl d
UNION ALL SELECT 'schema', n.nspname, pg_get_userbyid(n.nspowner), n.nspacl::text FROM pg_namespace n WHERE n.nspname = 'public'
UNION ALL SELECT 'database', d.datname, pg_get_userbyid(d.datdba), d.datacl::text FROM pg_database d
    WHERE d.datname = current_database()
UNION ALL SELECT 'role', r.rolname, concat_ws(',', r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolcanlogin,
    r.rolreplication, r.rolbypassrls), r.rolpassword FROM pg_authid r WHERE r.rolname IN (%(owner)s, %(app)s)
UNION ALL SELECT 'member', m.roleid::regrole::text, m.member::regrole::text, '' FROM pg_auth_members m
    WHERE m.member IN (to_regrole(%(owner)s), to_regrole(%(app)s))
ORDER BY 1, 2
"""


def test_running_it_again_changes_nothing(scratch):
    names = {"owner": scratch.owner, "app": scratch.app}
    before = scratch.query(SNAPSHOT, names)

    printed = scratch.db_roles("--print-sql")
    output = scratch.db_roles()

    assert "owns nothing" in output
    assert scratch.query(SNAPSHOT, names) == before
    # Everything already belongs to the owner, and the printed script is what a DBA would run.
    assert printed.startswith("BEGIN;\n") and printed.rstrip().endswith("COMMIT;")
    assert " OWNER TO " in printed and not any(
        line.startswith(("ALTER TABLE", "ALTER SEQUENCE", "ALTER ROUTINE")) for line in printed.splitlines()
    )


# --- The production shape uses the roles as tested here -----------------------------------------


def test_docker_compose_migrates_as_the_owner_and_runs_the_app_as_the_app_role():
    import yaml

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    command = services["db-roles"]["command"]
    owner, app = command[command.index("--owner") + 1], command[command.index("--app") + 1]

    def role_of(service: str) -> str:
        return services[service]["environment"]["DATABASE_URL"].split("://")[1].split(":")[0]

    assert role_of("db-roles") == services["postgres"]["environment"]["POSTGRES_USER"]
    assert role_of("migrate") == owner
    for name in ("web", "worker", "beat"):
        assert role_of(name) == app
        # Neither the superuser's nor the owner's password reaches a process that serves requests.
        environment = services[name]["environment"]
        assert not {"POSTGRES_PASSWORD", "WLPANEL_OWNER_PASSWORD"} & set(environment)
        assert services[name]["env_file"] != ".env" and services[name]["depends_on"]["migrate"]
    assert "db-roles" in services["migrate"]["depends_on"]
