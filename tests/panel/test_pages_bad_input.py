"""Every page of the resolver, given hostile values in its path and its query string (NUL bytes,
numbers past a bigint, Unicode digits, far dates, very long text), answers without a server error:
the test client raises whatever a view raises, so a 500 fails here with its traceback."""

import re

import pytest

from .test_auditor_writes_nothing import _routes

pytestmark = pytest.mark.django_db

HOSTILE = ["\x00", "a\x00b", "9" * 40, "²", "-1", "9999-12-31", "0001-01-01T00:00:00", "x" * 5000, "%", "' OR 1=1"]
QUERY_NAMES = (
    "q", "actor", "team", "environment", "action", "source", "since", "until", "before", "after", "date", "page",
    "state", "zone", "name", "from", "group", "next", "seen", "instance_type", "format", "cursor", "limit",
)


def _paths(route: str, hostile: str) -> str:
    """The route with every path parameter set to `hostile` (percent-encoded, as a client sends it)."""
    encoded = "".join(c if c.isalnum() else f"%{ord(c):02X}" for c in hostile.encode("utf-8").decode("latin-1"))
    return "/" + re.sub(r"<(?:\w+:)?\w+>", encoded, route)


@pytest.mark.parametrize("who", ["alice", "carol", "admin_user"])
def test_pages_answer_hostile_input_without_a_server_error(request, client, who, zone, make_environment, alice):
    make_environment(alice)
    client.force_login(request.getfixturevalue(who))
    routes = [r for r in set(_routes()) if not r.startswith(("admin/", "api/", "sso/")) and "(?P" not in r]
    assert len(routes) >= 20
    for route in routes:
        for hostile in HOSTILE:
            path = _paths(route, hostile) if "<" in route else "/" + route
            response = client.get(path, {name: hostile for name in QUERY_NAMES})
            assert response.status_code < 500, (path, hostile, response.status_code)
            if re.search(r"<(?!int:)", route):  # text in the path reaches the view: its POST too
                response = client.post(path, {name: hostile for name in QUERY_NAMES})
                assert response.status_code < 500, ("POST", path, hostile, response.status_code)
