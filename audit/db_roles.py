"""Production privilege separation (docs/api.md, "Roles" and "States"): an owner role and an app role that owns nothing.

The owner owns the database, the schema and every object in it, and runs the migrations. The app
role logs in, reads and writes the application tables, may only read and append to the audit
tables (and only read `django_migrations`), and owns nothing, so it can neither alter nor disable
the append-only trigger, nor create tables. Even without the trigger it could not rewrite history:
it has no UPDATE, DELETE or TRUNCATE on the audit tables.

`db_roles_sql()` is pure: names and what the database holds today in, SQL statements out (the
`db_roles` command prints them for review or runs them). Default privileges cover tables created
by future migrations; since they are schema-wide they would also give the app UPDATE and DELETE on
an audit table created later (a fresh install creates them after this runs), so every `migrate`
ends with `append_only_narrow()` (a post_migrate receiver) taking those back.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import transaction

# The app role's whole right on these tables, whatever the schema-wide grants say.
NARROWED_TABLES: dict[str, tuple[str, ...]] = {
    "audit_auditevent": ("SELECT", "INSERT"),
    "audit_awscall": ("SELECT", "INSERT"),
    "django_migrations": ("SELECT",),
}
# Their id sequences: reading is harmless; inserting into an identity column needs no privilege on
# the sequence, and setval (UPDATE) could rewind the audit ids.
NARROWED_SEQUENCE_PRIVILEGES: tuple[str, ...] = ("SELECT",)

APP_TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
APP_SEQUENCE_PRIVILEGES = "USAGE, SELECT, UPDATE"
_ROLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class SchemaInventory:
    """What the database holds when the command runs (read by `schema_inventory()`)."""

    database: str
    schema: str = "public"
    # Who runs the statements: a superuser, never one of the two roles (ALTER ROLE demotes them).
    current_user: str = ""
    # Narrowed tables that exist, each with the sequences it owns (identity or serial ids).
    narrowed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # (kind, name) of objects in the schema owned by someone else than the owner, e.g. tables
    # that a superuser migrated before the roles existed. `kind` is TABLE, SEQUENCE, VIEW,
    # MATERIALIZED VIEW or ROUTINE; `name` is already quoted (regclass / regprocedure text).
    foreign_owned: tuple[tuple[str, str], ...] = ()


def _role_ensure(name: str, attributes: str, password_verifier: str | None) -> list[str]:
    # PostgreSQL has no CREATE ROLE IF NOT EXISTS; ALTER then sets every attribute each run.
    password = f" PASSWORD {quote_literal(password_verifier)}" if password_verifier else ""
    return [
        f"DO $roles$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {quote_literal(name)}) "
        f"THEN CREATE ROLE {quote_ident(name)}; END IF; END $roles$",
        f"ALTER ROLE {quote_ident(name)} {attributes}{password}",
    ]


def db_roles_sql(
    *,
    owner: str,
    app: str,
    inventory: SchemaInventory,
    owner_password_verifier: str | None = None,
    app_password_verifier: str | None = None,
) -> list[str]:
    """The statements that create or update both roles and their privileges; idempotent."""
    for name in (owner, app):
        if not _ROLE_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a plain role name (letters, digits, _; at most 63)")
    if owner == app:
        raise ValueError("the owner and the app role must be two different roles")
    if inventory.current_user in (owner, app):
        raise ValueError(f"connect as a superuser, not as {inventory.current_user}, one of the two roles")
    o, a = quote_ident(owner), quote_ident(app)
    db, schema = quote_ident(inventory.database), quote_ident(inventory.schema)
    plain = "NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"

    statements = [
        *_role_ensure(owner, f"LOGIN {plain}", owner_password_verifier),
        *_role_ensure(app, f"LOGIN {plain}", app_password_verifier),
        # Were the app a member of the owner it would hold the owner's rights.
        f"DO $roles$ BEGIN IF EXISTS (SELECT FROM pg_auth_members WHERE roleid = {quote_literal(owner)}::regrole "  # noqa: S608 - checked names, quoted
        f"AND member = {quote_literal(app)}::regrole) THEN REVOKE {o} FROM {a}; END IF; END $roles$",
        # As the database's owner it may create the trusted extension pg_trgm (migration 0004).
        f"ALTER DATABASE {db} OWNER TO {o}",
        f"GRANT CONNECT ON DATABASE {db} TO {a}",
        f"REVOKE CREATE ON DATABASE {db} FROM {a}",
        f"ALTER SCHEMA {schema} OWNER TO {o}",
        f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC",
        f"REVOKE CREATE ON SCHEMA {schema} FROM {a}",
        f"GRANT USAGE ON SCHEMA {schema} TO {a}",
    ]
    statements += [f"ALTER {kind} {name} OWNER TO {o}" for kind, name in inventory.foreign_owned]
    statements += [
        f"GRANT {APP_TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {schema} TO {a}",
        f"GRANT {APP_SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA {schema} TO {a}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {schema} GRANT {APP_TABLE_PRIVILEGES} ON TABLES TO {a}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA {schema} "
        f"GRANT {APP_SEQUENCE_PRIVILEGES} ON SEQUENCES TO {a}",
    ]
    # After the schema-wide grants, which include the audit tables.
    for table, sequences in sorted(inventory.narrowed.items()):
        name = f"{schema}.{quote_ident(table)}"
        statements += [
            f"REVOKE ALL ON TABLE {name} FROM PUBLIC, {a}",
            f"GRANT {', '.join(NARROWED_TABLES[table])} ON TABLE {name} TO {a}",
        ]
        for sequence in sequences:
            statements += [
                f"REVOKE ALL ON SEQUENCE {sequence} FROM PUBLIC, {a}",
                f"GRANT {', '.join(NARROWED_SEQUENCE_PRIVILEGES)} ON SEQUENCE {sequence} TO {a}",
            ]
    return statements


# --- Reading the database, running the statements -------------------------------------------------

_OWNED_SEQUENCES = """
    SELECT s.oid::regclass::text
    FROM pg_class t
    JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = t.oid AND d.deptype IN ('a', 'i')
    JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
    WHERE t.oid = to_regclass(%s)
"""

# Objects linked to a table (its identity sequence) or to an extension (pg_trgm) follow their parent.
_FOREIGN_OWNED = """
    SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW'
                          WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
           c.oid::regclass::text
    FROM pg_class c
    WHERE c.relnamespace = to_regnamespace(%s) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
      AND pg_get_userbyid(c.relowner) <> %s
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                      AND d.objid = c.oid AND d.deptype IN ('a', 'i', 'e'))
    UNION ALL
    SELECT 'ROUTINE', p.oid::regprocedure::text
    FROM pg_proc p
    WHERE p.pronamespace = to_regnamespace(%s) AND p.prokind IN ('f', 'p')
      AND pg_get_userbyid(p.proowner) <> %s
      AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                      AND d.objid = p.oid AND d.deptype = 'e')
    ORDER BY 1, 2
"""


def schema_inventory(*, connection, owner: str, schema: str = "public") -> SchemaInventory:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_database(), current_user")
        database, current_user = cursor.fetchone()
        narrowed = {}
        for table in NARROWED_TABLES:
            cursor.execute(
                "SELECT to_regclass(%s) IS NOT NULL", [f"{quote_ident(schema)}.{quote_ident(table)}"]
            )
            if cursor.fetchone()[0]:
                cursor.execute(_OWNED_SEQUENCES, [f"{quote_ident(schema)}.{quote_ident(table)}"])
                narrowed[table] = tuple(sorted(sequence for (sequence,) in cursor.fetchall()))
        cursor.execute(_FOREIGN_OWNED, [schema, owner, schema, owner])
        foreign_owned = tuple(cursor.fetchall())
    return SchemaInventory(
        database=database,
        schema=schema,
        current_user=current_user,
        narrowed=narrowed,
        foreign_owned=foreign_owned,
    )


def password_verifier(*, connection, role: str, password: str) -> str:
    """The SCRAM verifier PostgreSQL would store: the password itself never appears in SQL or logs."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    return pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()


def db_roles_apply(*, connection, statements: Iterable[str]) -> None:
    """Run the statements in one transaction: all of them or none."""
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


# --- After every migrate ----------------------------------------------------------------------

_GRANTS_ON_NARROWED = """
    SELECT r.oid::regclass::text, r.relkind = 'S',
           CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END,
           a.privilege_type, t.name
    FROM unnest(%s::text[]) AS t(name)
    JOIN pg_class tbl ON tbl.oid = to_regclass(t.name)
    JOIN pg_class r ON r.oid = tbl.oid OR r.oid IN (
        SELECT d.objid FROM pg_depend d
        WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = tbl.oid AND d.deptype IN ('a', 'i'))
    CROSS JOIN LATERAL aclexplode(r.relacl) AS a
    WHERE a.grantee <> r.relowner AND (r.oid = tbl.oid OR r.relkind = 'S')
    ORDER BY 1, 3, 4
"""


def narrowing_revokes(grants: Sequence[tuple[str, bool, str, str, str]]) -> list[str]:
    """REVOKE statements for every grant on a narrowed table (or its sequence) beyond what it allows."""
    excess: dict[tuple[str, bool, str], list[str]] = {}
    for name, is_sequence, grantee, privilege, table in grants:
        allowed = NARROWED_SEQUENCE_PRIVILEGES if is_sequence else NARROWED_TABLES[table]
        if privilege not in allowed:
            excess.setdefault((name, is_sequence, grantee), []).append(privilege)
    return [
        f"REVOKE {', '.join(privileges)} ON {'SEQUENCE' if is_sequence else 'TABLE'} {name} FROM {grantee}"
        for (name, is_sequence, grantee), privileges in excess.items()
    ]


def append_only_narrow(*, connection) -> list[str]:
    """Take back from every role but the owner what it may not do on the narrowed tables.

    A migration creating such a table, or granting on it, then cannot silently give the app role
    UPDATE or DELETE on the audit log. Returns the statements it ran (none when all is in order).
    """
    if connection.vendor != "postgresql":
        return []
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute(_GRANTS_ON_NARROWED, [list(NARROWED_TABLES)])
        revokes = narrowing_revokes(cursor.fetchall())
        for statement in revokes:
            cursor.execute(statement)
    return revokes
