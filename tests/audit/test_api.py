"""GET /api/audit/events and /api/audit/events/export: shapes, scoping, auth, bad input."""

import json
from unittest import mock

import pytest

from accounts.services import api_token_issue
from audit.api import COUNT_LIMIT
from audit.choices import Source
from audit.models import AuditEvent
from audit.services import record

EVENTS = "/api/audit/events"
EXPORT = "/api/audit/events/export"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def login(client, user) -> None:
    with mock.patch("accounts.receivers.record"):
        client.force_login(user)


@pytest.fixture
def log(bob, mallory):
    rows = [
        record(actor=bob, action="request.approved", target=None, source=Source.WEB, team_slug="demo",
               environment_id=4, target_repr="edge-sfo", details={"comment": "fine"}),
        record(actor=mallory, action="request.created", target=None, source=Source.API, team_slug="other",
               environment_id=8, target_repr="edge-nyc"),
    ]
    rows += [record(actor=None, action="environment.step_done", target=None, source=Source.WORKER, team_slug="demo",
                    environment_id=4, details={"step": n}) for n in range(5)]
    return rows


def bearer(user) -> dict:
    with mock.patch("audit.context.record"):  # the token's own audit row would change the counts
        token = api_token_issue(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.mark.django_db
def test_list_requires_authentication(client):
    response = client.get(EVENTS)
    assert response.status_code == 401 and "detail" in response.json()


@pytest.mark.django_db
def test_list_shape_newest_first_with_everything_needed_to_reverify(client, carol, log):
    response = client.get(EVENTS, **bearer(carol))
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"items", "count", "count_exact", "next"}
    assert (data["count"], data["count_exact"], data["next"]) == (len(log), True, None)
    assert [item["id"] for item in data["items"]] == [event.pk for event in reversed(log)]
    newest = data["items"][0]
    assert newest["created_at"] == log[-1].created_at.isoformat()
    assert (newest["hash"], newest["prev_hash"]) == (log[-1].hash, log[-1].prev_hash)
    assert newest["details"] == {"step": 4} and newest["actor_username"] == ""


@pytest.mark.django_db
def test_list_pages_with_the_cursor(client, carol, log):
    login(client, carol)
    first = client.get(EVENTS, {"limit": 3}).json()
    second = client.get(EVENTS, {"limit": 3, "cursor": first["next"]}).json()
    third = client.get(EVENTS, {"limit": 3, "cursor": second["next"]}).json()
    ids = [item["id"] for page in (first, second, third) for item in page["items"]]
    assert ids == [event.pk for event in reversed(log)] and third["next"] is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "EDGE"}, [1, 0]),
        ({"actor": "bob"}, [0]),
        ({"action": "request.*"}, [1, 0]),
        ({"environment": "8"}, [1]),
        ({"source": "worker", "q": "step"}, [6, 5, 4, 3, 2]),
        ({"team": "other"}, [1]),
    ],
)
def test_list_filters(client, carol, log, params, expected):
    login(client, carol)
    data = client.get(EVENTS, params).json()
    assert [item["id"] for item in data["items"]] == [log[n].pk for n in expected]
    assert data["count"] == len(expected)


@pytest.mark.django_db
def test_list_since_and_until(client, carol, log):
    login(client, carol)
    middle = log[3].created_at.isoformat()
    since = client.get(EVENTS, {"since": middle}).json()
    until = client.get(EVENTS, {"until": middle}).json()
    assert [item["id"] for item in since["items"]] == [event.pk for event in reversed(log[3:])]
    assert [item["id"] for item in until["items"]] == [event.pk for event in reversed(log[:3])]


@pytest.mark.django_db
def test_members_list_only_their_teams_rows(client, alice, log):
    login(client, alice)
    data = client.get(EVENTS).json()
    assert {item["team_slug"] for item in data["items"]} == {"demo"} and data["count"] == 6


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "field"),
    [({"since": "not-a-date"}, "since"), ({"until": "2026-13-01"}, "until"), ({"environment": "x"}, "environment"),
     ({"limit": 0}, "limit"), ({"cursor": "garbage"}, "cursor")],
)
def test_bad_input_is_400_with_the_field_named(client, carol, params, field):
    login(client, carol)
    response = client.get(EVENTS, params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.django_db
def test_count_is_capped_not_exact_past_the_limit(client, carol, monkeypatch, log):
    monkeypatch.setattr("audit.api.COUNT_LIMIT", 4)
    login(client, carol)
    data = client.get(EVENTS, {"limit": 2}).json()
    assert (data["count"], data["count_exact"]) == (4, False) and len(data["items"]) == 2
    assert COUNT_LIMIT == 10_000


@pytest.mark.django_db
def test_export_streams_jsonl_and_csv_and_is_audited_as_api(client, carol, log):
    headers = bearer(carol)
    response = client.get(EXPORT, {"format": "jsonl", "team": "other"}, **headers)
    assert response.status_code == 200 and response.streaming
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert [line["id"] for line in lines] == [log[1].pk] and lines[0]["hash"] == log[1].hash

    response = client.get(EXPORT, {"format": "csv", "actor": "bob"}, **headers)
    text = b"".join(response.streaming_content).decode()
    assert text.splitlines()[0].startswith("id,created_at,") and text.count("\n") == 2

    exports = AuditEvent.objects.filter(action="audit.exported").order_by("id")
    assert [(e.actor_username, e.source, e.details["format"], e.details["filter"]) for e in exports] == [
        ("carol", "api", "jsonl", {"team": "other"}),
        ("carol", "api", "csv", {"actor": "bob"}),
    ]


@pytest.mark.django_db
def test_export_is_for_auditors_and_admins(client, alice, admin_user, log):
    assert client.get(EXPORT, {"format": "csv"}, **bearer(alice)).status_code == 403
    assert client.get(EXPORT, {"format": "csv"}, **bearer(admin_user)).status_code == 200
    assert client.get(EXPORT, {"format": "csv"}).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{"format": "xlsx"}, {"format": "csv", "since": "soon"}])
def test_export_bad_input_is_400(client, carol, params):
    response = client.get(EXPORT, params, **bearer(carol))
    assert response.status_code == 400 and response.json()["errors"]
