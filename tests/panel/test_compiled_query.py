"""wlpanel.compiled_query: the SQL built once, the rows exactly the ORM's, the values of each call.

The hot reads that use it (the environment a page shows, its resources, its trail, the session
and the user) are checked here against the ORM queryset they replace."""

import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections
from django.db.models import OuterRef, Subquery
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Membership
from accounts.selectors import user_get
from environments import queries as environment_queries  # noqa: F401 - registers any_of on Environment.id
from environments.models import Environment, Resource
from environments.selectors import environment_get_visible
from wlpanel.compiled_query import AnyOf, CompiledQuery

pytestmark = pytest.mark.django_db


def _fields(obj) -> dict:
    return {name: value for name, value in vars(obj).items() if name != "_state"}


def _visible(user_id, environment_id):
    role = Membership.objects.filter(user=user_id, team=OuterRef("team_id")).values("role")[:1]
    return (
        Environment.objects.select_related("team", "zone", "owner")
        .annotate(viewer_team_role=Subquery(role))
        .filter(viewer_team_role__isnull=False, pk=environment_id)
    )


def test_rows_are_the_orms_own_with_related_objects_and_annotations(make_environment, alice, bob, mallory):
    first = make_environment(alice, name="edge-1")
    second = make_environment(alice, name="edge-2")
    built = []
    compiled = CompiledQuery(lambda user_id, environment_id: built.append(1) or _visible(user_id, environment_id), user_id=int, environment_id=int)

    for user, environment in ((alice, first), (bob, second), (alice, second)):
        [orm] = _visible(user.pk, environment.pk)
        [row] = compiled.all(user_id=user.pk, environment_id=environment.pk)
        assert _fields(row) == _fields(orm)  # every column, and the viewer's role
        for related in ("team", "zone", "owner"):
            assert _fields(getattr(row, related)) == _fields(getattr(orm, related))
        assert row.viewer_team_role == orm.viewer_team_role
    assert compiled.all(user_id=mallory.pk, environment_id=first.pk) == []  # not of mallory's team
    assert compiled.first(user_id=alice.pk, environment_id=10**9) is None
    assert built == [1], "the queryset is built (and its SQL compiled) once"


def test_each_call_runs_its_sql_once_with_its_own_values(make_environment, alice):
    environment = make_environment(alice)
    compiled = CompiledQuery(
        lambda environment_id: Resource.objects.filter(environment_id=environment_id).order_by("id"), environment_id=int
    )
    compiled.all(environment_id=environment.pk)
    with CaptureQueriesContext(connection) as queries:
        rows = compiled.all(environment_id=environment.pk)
        compiled.all(environment_id=environment.pk + 1)
    assert [r.pk for r in rows] == list(environment.resources.order_by("id").values_list("pk", flat=True))
    assert len(queries) == 2
    assert queries[0]["sql"] != queries[1]["sql"]  # the values differ, bound into the same statement
    assert queries[0]["sql"].replace(str(environment.pk), "?") == queries[1]["sql"].replace(str(environment.pk + 1), "?")


def test_values_list_rows_and_a_value_used_twice(make_environment, alice):
    environment = make_environment(alice)
    compiled = CompiledQuery(
        lambda environment_id, key: Resource.objects.filter(environment_id=environment_id, key=key)
        .exclude(environment_id=environment_id + 0, key="")  # environment_id reaches the SQL twice
        .values_list("key", "kind", named=True),
        environment_id=int,
        key=str,
    )
    [row] = compiled.all(environment_id=environment.pk, key="vpc")
    assert (row.key, row.kind) == ("vpc", "vpc")
    assert compiled.all(environment_id=environment.pk, key="no-such-key") == []


def test_a_value_that_changes_the_sql_is_refused_when_compiled():
    compiled = CompiledQuery(lambda name: Environment.objects.filter(name__icontains=name), name=str)
    with pytest.raises(ImproperlyConfigured, match="name did not reach the SQL"):
        compiled.all(name="edge")


def test_wrong_arguments_and_integers_postgresql_cannot_hold(make_environment, alice):
    environment = make_environment(alice)
    compiled = CompiledQuery(lambda environment_id: Environment.objects.filter(pk=environment_id), environment_id=int)
    with pytest.raises(TypeError):
        compiled.all(pk=environment.pk)
    with pytest.raises(TypeError, match="environment_id takes int"):
        compiled.all(environment_id=str(environment.pk))
    assert compiled.all(environment_id=2**63) == [] == list(Environment.objects.filter(pk=2**63))
    with pytest.raises(Http404):
        environment_get_visible(alice, 2**70)
    with pytest.raises(Http404):
        environment_get_visible(alice, "not-a-number")
    assert environment_get_visible(alice, str(environment.pk)).pk == environment.pk


@pytest.mark.django_db(transaction=True)
def test_another_thread_reads_through_its_own_connection(make_environment, alice):
    environment = make_environment(alice)
    compiled = CompiledQuery(lambda environment_id: Environment.objects.filter(pk=environment_id), environment_id=int)
    compiled.all(environment_id=environment.pk)  # compiled on this thread
    seen = {}

    def read():
        try:
            seen["rows"] = compiled.all(environment_id=environment.pk)
            seen["connection"] = connections["default"]
        finally:
            connections.close_all()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert [row.pk for row in seen["rows"]] == [environment.pk]
    assert seen["connection"] is not connections["default"]


# --- The session and the user every request reads -----------------------------------------------


def test_an_expired_session_is_not_loaded(client, alice):
    client.force_login(alice)
    assert client.get("/environments/").status_code == 200
    Session.objects.filter(session_key=client.session.session_key).update(expire_date=timezone.now() - timedelta(seconds=1))
    answer = client.get("/environments/")
    assert answer.status_code == 302 and answer["Location"].startswith("/login/")


def test_a_deactivated_or_deleted_user_is_logged_out_at_the_next_request(client, alice, settings):
    client.force_login(alice)
    assert client.get("/environments/").status_code == 200
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    assert client.get("/environments/").status_code == 302
    assert user_get(alice.pk).pk == alice.pk and user_get("x") is None and user_get(None) is None


def test_lists_bind_as_one_array_whatever_their_length(make_environment, alice):
    first, second = make_environment(alice, name="edge-1"), make_environment(alice, name="edge-2")
    name_field = Environment._meta.get_field("name")  # `id` has it already (environments.queries)
    name_field.register_lookup(AnyOf)
    try:
        compiled = CompiledQuery(
            lambda ids, names: Environment.objects.filter(pk__any_of=ids, name__any_of=names).order_by("pk"),
            ids=list[int],
            names=list[str],
        )
        with CaptureQueriesContext(connection) as queries:
            assert [e.pk for e in compiled.all(ids=[first.pk, second.pk], names=["edge-1", "edge-2"])] == [first.pk, second.pk]
            assert [e.pk for e in compiled.all(ids={second.pk}, names=("edge-2",))] == [second.pk]
            assert compiled.all(ids=[], names=[]) == []
        assert all("= ANY(" in q["sql"] for q in queries)
    finally:
        name_field._unregister_lookup(AnyOf)
