"""Reads whose SQL Django builds once per process instead of on every call.

Django compiles a queryset to SQL each time it is evaluated, and for a page's hot reads that is
most of their cost: the detail page's environment (four joined models and the viewer's role)
took 1.0 ms of CPU to compile against 0.4 ms to run and load — on every page and every poll of
its progress. Their shape never changes, only their values. A `CompiledQuery` builds its queryset
once with marker values, keeps the SQL, and runs it with each call's values through Django's own
iterables (model instances with their select_related, values(), values_list()).

Only values that reach the SQL as one parameter, unchanged, may vary: equality-style lookups
(`pk=`, `environment_id=`, `user=`), and lists through `any_of` (`= ANY(array)`, one parameter
whatever the length; `__in` has one per value). Anything that changes the SQL's text — a None, a
pattern for `icontains` — belongs in the shape; a marker that does not come out as a parameter is
refused when the query is first compiled. Nothing read is kept: every call runs its SQL.
PostgreSQL only: on the embedded fallback's SQLite the queryset is built and compiled every call.
"""

import copy
import itertools
import threading
import typing
from collections.abc import Callable
from datetime import UTC, datetime

from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import connections
from django.db.models import Lookup, QuerySet

_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1

# Values no real call passes, one per parameter, by type.
_MARKER_INT = itertools.count(-(2**62), -1)


def _marker(kind, name: str):
    if typing.get_origin(kind) is list:
        return [_marker(typing.get_args(kind)[0], name)]
    if kind is int:
        return next(_MARKER_INT)
    if kind is str:
        return f"\x1f{name}-marker-{next(_MARKER_INT)}"
    if kind is datetime:
        return datetime(1, 1, 1, 0, 0, 1 + (-next(_MARKER_INT) % 59), tzinfo=UTC)
    raise ImproperlyConfigured(f"CompiledQuery parameter {name}: int, str, datetime or a list of them, not {kind!r}")


class AnyOf(Lookup):
    """`field__any_of=[...]`: PostgreSQL's `field = ANY(%s)`, the list bound as one array, so the
    SQL is the same whatever the list's length (elsewhere an `IN`). Registered on the fields that
    need it."""

    lookup_name = "any_of"
    prepare_rhs = False

    def get_db_prep_lookup(self, value, connection):
        return "%s", [list(value)]

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", (*lhs_params, *rhs_params)

    def as_sql(self, compiler, connection):
        values = list(self.rhs)
        if not values:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", (*lhs_params, *values)


def _same(param, marker) -> bool:
    if isinstance(marker, list):
        return isinstance(param, list) and param == marker
    return isinstance(param, type(marker)) and param == marker


_ALL: list["CompiledQuery"] = []
_NOT_COMPILED = ()


def compile_all() -> None:
    """Compile every CompiledQuery defined so far (gunicorn's master, before it forks: wlpanel.warmup)."""
    for query in _ALL:
        query._compile()


class CompiledQuery:
    """`CompiledQuery(lambda environment_id: Resource.objects.filter(environment_id=environment_id)
    .order_by("id"), environment_id=int)`; then `.all(environment_id=5)` is the list of rows."""

    def __init__(self, build: Callable[..., QuerySet], **parameters: type):
        self._build = build
        self._parameters = parameters
        self._compiled: tuple | None = None
        self._lock = threading.Lock()
        _ALL.append(self)

    def all(self, **values) -> list:
        """The rows of the queryset `build(**values)` would give, without compiling it again."""
        if values.keys() != self._parameters.keys():
            raise TypeError(f"CompiledQuery takes {sorted(self._parameters)}, given {sorted(values)}")
        for name, kind in self._parameters.items():
            if typing.get_origin(kind) is None and not isinstance(values[name], kind):
                raise TypeError(f"CompiledQuery parameter {name} takes {kind.__name__}, given {values[name]!r}")
        if any(type(value) is int and not _BIGINT_MIN <= value <= _BIGINT_MAX for value in values.values()):
            return []  # equal to no column PostgreSQL holds (as Django 5 answers such a lookup)
        compiled = self._compile()
        if compiled is _NOT_COMPILED:
            return list(self._build(**values))
        template, compiler, sql, compiled_params, slots, converters = compiled
        params = list(compiled_params)
        for index, name in slots:
            value = values[name]
            if isinstance(value, int):
                # Keep the type Django gave the marker (psycopg's Int8 for a bigint column): the
                # statement PostgreSQL prepares is the one the ORM's own query would have had.
                value = type(params[index])(value)
            elif isinstance(value, list | tuple | set | frozenset | dict):
                value = list(value)
            params[index] = value
        queryset = template._chain()
        bound = copy.copy(compiler)
        bound.connection = connections[template.db]  # this thread's connection
        bound.as_sql = lambda *args, **kwargs: (sql, tuple(params))
        bound.get_converters = lambda expressions: converters  # the columns' (from_db_value...), found once
        queryset.query.get_compiler = lambda *args, **kwargs: bound
        return list(queryset)

    def first(self, **values):
        rows = self.all(**values)
        return rows[0] if rows else None

    def _compile(self) -> tuple:
        compiled = self._compiled
        if compiled is not None:
            return compiled
        with self._lock:
            if self._compiled is None:
                markers = {name: _marker(kind, name) for name, kind in self._parameters.items()}
                template = self._build(**markers)
                if connections[template.db].vendor != "postgresql":
                    # The embedded fallback's SQLite (make run without PostgreSQL) adapts values
                    # on the way in (datetimes to text): there, Django compiles every call.
                    self._compiled = _NOT_COMPILED
                    return self._compiled
                compiler = template.query.get_compiler(using=template.db)
                sql, params = compiler.as_sql()  # also fills the compiler's select, klass_info, annotations
                slots = [
                    (index, name)
                    for index, param in enumerate(params)
                    for name, marker in markers.items()
                    if type(param) is not bool and _same(param, marker)
                ]
                missing = set(markers) - {name for _, name in slots}
                if missing:
                    raise ImproperlyConfigured(
                        f"CompiledQuery: {', '.join(sorted(missing))} did not reach the SQL as a parameter; "
                        "only values of equality-style lookups may vary"
                    )
                converters = compiler.get_converters([column[0] for column in compiler.select[: compiler.col_count]])
                self._compiled = (template, compiler, sql, tuple(params), slots, converters)
        return self._compiled
