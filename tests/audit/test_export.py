"""Streamed CSV and JSON Lines exports: what a filter selects, with hashes to re-verify offline."""

import csv
import io
import json
from unittest import mock

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils.dateparse import parse_datetime

from audit.choices import Source
from audit.export import COLUMNS
from audit.models import AuditEvent
from audit.services import HASHED_FIELDS, event_hash, record

EXPORT = reverse("audit:event_export")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def login(client, user) -> None:
    with mock.patch("accounts.receivers.record"):
        client.force_login(user)


@pytest.fixture
def log(bob, mallory):
    return [
        record(actor=bob, action="request.approved", target=None, source=Source.WEB, team_slug="demo",
               before={"state": "pending"}, after={"state": "approved"}, details={"comment": "ok, ship it"}),
        record(actor=mallory, action="request.created", target=None, source=Source.API, team_slug="other",
               details={"purpose": "=HYPERLINK(\"http://evil\")"}, user_agent="=cmd|' /C calc'!A0"),
        record(actor=bob, action="environment.destroyed", target=None, source=Source.WEB, team_slug="demo", environment_id=3),
    ]


def body(response) -> str:
    assert isinstance(response, StreamingHttpResponse) and response.streaming
    return b"".join(response.streaming_content).decode()


@pytest.mark.django_db
def test_csv_export_streams_the_filtered_rows_oldest_first_with_hashes(client, carol, log):
    login(client, carol)
    response = client.get(EXPORT, {"format": "csv", "team": "demo"})

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'attachment; filename="audit-' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert list(rows[0].keys()) == list(COLUMNS)
    assert [int(row["id"]) for row in rows] == [log[0].pk, log[2].pk]
    first = rows[0]
    assert (first["actor_username"], first["action"], first["hash"], first["prev_hash"]) == (
        "bob", "request.approved", log[0].hash, log[0].prev_hash)
    assert json.loads(first["details"]) == {"comment": "ok, ship it"} and json.loads(first["after"]) == {"state": "approved"}
    assert rows[1]["environment_id"] == "3" and rows[1]["before"] == ""


@pytest.mark.django_db
def test_csv_cells_that_a_spreadsheet_would_run_are_defused(client, carol, log):
    login(client, carol)
    rows = list(csv.DictReader(io.StringIO(body(client.get(EXPORT, {"format": "csv", "team": "other"})))))
    assert rows[0]["user_agent"] == "'=cmd|' /C calc'!A0"


@pytest.mark.django_db
def test_jsonl_rows_reverify_offline(client, carol, log):
    login(client, carol)
    response = client.get(EXPORT, {"format": "jsonl"})

    assert response["Content-Type"].startswith("application/jsonl")
    lines = [json.loads(line) for line in body(response).splitlines()]
    assert [line["id"] for line in lines] == [event.pk for event in log]
    for line in lines:
        # What an auditor would do with the file and the audit key: recompute each row's hash.
        fields = {name: line[name] for name in HASHED_FIELDS} | {"created_at": parse_datetime(line["created_at"])}
        assert line["chain_scheme"] == 2
        assert event_hash(fields, line["prev_hash"], line["chain_scheme"]) == line["hash"]
    assert lines[1]["details"] == {"purpose": "=HYPERLINK(\"http://evil\")"}  # verbatim in JSON Lines
    assert lines[0]["prev_hash"] == log[0].prev_hash and lines[1]["prev_hash"] == lines[0]["hash"]


@pytest.mark.django_db
def test_export_uses_the_same_filters_as_the_page(client, carol, log):
    login(client, carol)
    response = client.get(EXPORT, {"format": "jsonl", "q": "SHIP IT", "source": "web"})
    assert [json.loads(line)["id"] for line in body(response).splitlines()] == [log[0].pk]


@pytest.mark.django_db
def test_export_is_audited_and_stops_at_the_rows_that_existed_when_it_began(client, carol, log):
    login(client, carol)
    response = client.get(EXPORT, {"format": "csv", "actor": "bob", "since": "2020-01-01"}, REMOTE_ADDR="10.1.2.3")
    exported_ids = [int(row["id"]) for row in csv.DictReader(io.StringIO(body(response)))]

    exported = AuditEvent.objects.get(action="audit.exported")
    assert (exported.actor_username, exported.source, exported.ip_address) == ("carol", "web", "10.1.2.3")
    assert exported.details == {
        "format": "csv",
        "filter": {"actor": "bob", "since": "2020-01-01T00:00:00+00:00"},
        "up_to_event": log[-1].pk,
    }
    assert exported.pk not in exported_ids


@pytest.mark.django_db
@pytest.mark.parametrize("export_format", ["csv", "jsonl"])
def test_a_large_export_streams_in_many_chunks(client, carol, bob, monkeypatch, export_format):
    monkeypatch.setattr("audit.export.BATCH_SIZE", 100)
    monkeypatch.setattr("audit.export.COPY_FLUSH_BYTES", 20_000)
    for n in range(600):
        record(actor=bob, action=f"thing.{n}", target=None, source=Source.SHELL)
    login(client, carol)
    response = client.get(EXPORT, {"format": export_format})
    chunks = list(response.streaming_content)
    assert len(chunks) >= 5  # batches leave as they are read, not one body at the end
    assert sum(chunk.count(b"\n") for chunk in chunks) == 600 + (export_format == "csv")


@pytest.mark.django_db
def test_members_may_not_export(client, alice, log):
    login(client, alice)
    assert client.get(EXPORT, {"format": "csv"}).status_code == 403
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{"format": "xml"}, {"format": "csv", "since": "yesterday"}])
def test_bad_export_requests_are_400(client, carol, params):
    login(client, carol)
    assert client.get(EXPORT, params).status_code == 400


@pytest.mark.django_db
def test_export_requires_login(client):
    response = client.get(EXPORT, {"format": "csv"})
    assert response.status_code == 302


@pytest.mark.django_db
def test_the_portable_writers_match_what_postgresql_formats(log, bob):
    """The SQLite stand-in formats rows in Python: same columns, same values, same defusing."""
    from audit.export import _pg_csv_chunks, _pg_jsonl_chunks, python_csv_chunks, python_jsonl_chunks

    with written_at_whole_second():
        log.append(record(actor=bob, action="thing.on_the_second", target=None, source=Source.WEB, ip_address="10.0.0.9"))
    awkward = {"path": "C:\\temp\\new", "quote": 'say "hi"', "lines": "one\ntwo\r\n", "ctl": "\x01\x02\t", "nested": {"ü": ["ß", None, 1.5]}}
    log.append(record(actor=bob, action="thing.awkward", target=None, source=Source.WEB, details=awkward, target_repr="a,b;\"c\""))
    events = AuditEvent.objects.all()

    def text(chunks) -> str:
        return "".join(chunk.decode() if isinstance(chunk, bytes) else chunk for chunk in chunks)

    assert list(csv.reader(io.StringIO(text(_pg_csv_chunks(events))))) == list(
        csv.reader(io.StringIO(text(python_csv_chunks(events))))
    )
    from_pg = [json.loads(line) for line in text(_pg_jsonl_chunks(events)).splitlines()]
    assert from_pg == [json.loads(line) for line in text(python_jsonl_chunks(events)).splitlines()]
    assert from_pg[-2]["created_at"].endswith(":00+00:00") and from_pg[-2]["ip_address"] == "10.0.0.9"
    assert from_pg[-1]["details"] == awkward


def written_at_whole_second():
    """A row stamped on a whole second: isoformat() then leaves the microseconds out."""
    from django.utils import timezone

    from audit import chain

    return mock.patch.object(chain.timezone, "now", return_value=timezone.now().replace(second=0, microsecond=0))
