"""The review pages at /audit/: who sees which rows, every filter, keyset pages, a row's detail."""

import datetime as dt
from contextlib import contextmanager
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audit import chain
from audit.choices import Source
from audit.models import AuditEvent
from audit.selectors import SEARCH_TEXT_SQL, audit_diff, environment_timeline
from audit.services import aws_call_record, record

LIST = reverse("audit:event_list")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The people fixtures set passwords; PBKDF2 at full strength would dominate these tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@contextmanager
def written_at(moment: dt.datetime):
    """Rows recorded inside are stamped `moment` (the writer takes its time from timezone.now)."""
    with mock.patch.object(chain.timezone, "now", return_value=moment):
        yield


def event(actor=None, action="thing.done", **fields) -> AuditEvent:
    fields.setdefault("source", Source.WEB)
    return record(actor=actor, action=action, target=None, **fields)


def login(client, user) -> None:
    """Log in without the login's own audit row, so each test sees only the rows it wrote."""
    with mock.patch("accounts.receivers.record"):
        client.force_login(user)


def shown_ids(response) -> list[int]:
    return [e.pk for e in response.context["page"].events]


@pytest.fixture
def mixed_log(alice, bob, mallory, carol):
    """Rows of two teams, a team-less login of alice's and one of mallory's."""
    return {
        "demo_request": event(bob, "request.approved", team_slug="demo", environment_id=7, target_repr="edge-sfo"),
        "demo_build": event(None, "environment.ready", team_slug="demo", environment_id=7, source=Source.WORKER),
        "other_request": event(mallory, "request.created", team_slug="other", environment_id=9, target_repr="edge-nyc"),
        "alice_login": event(alice, "user.logged_in"),
        "mallory_login": event(mallory, "user.logged_in"),
        "audit_export": event(carol, "audit.exported", source=Source.API, details={"format": "csv"}),
    }


# --- Access ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_review_requires_login(client):
    response = client.get(LIST)
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.django_db
def test_member_sees_their_teams_rows_and_their_own_team_less_rows(client, alice, mixed_log):
    login(client, alice)
    response = client.get(LIST)
    assert response.status_code == 200
    log = mixed_log
    assert shown_ids(response) == [log["alice_login"].pk, log["demo_build"].pk, log["demo_request"].pk]


@pytest.mark.django_db
@pytest.mark.parametrize("reviewer", ["carol", "admin_user"])
def test_auditors_and_admins_see_every_row(client, request, reviewer, mixed_log):
    login(client, request.getfixturevalue(reviewer))
    response = client.get(LIST)
    assert sorted(shown_ids(response)) == sorted(e.pk for e in mixed_log.values())


@pytest.mark.django_db
def test_a_row_outside_the_members_teams_is_404(client, alice, mixed_log):
    login(client, alice)
    assert client.get(reverse("audit:event_detail", args=[mixed_log["other_request"].pk])).status_code == 404
    assert client.get(reverse("audit:event_detail", args=[mixed_log["mallory_login"].pk])).status_code == 404
    detail = client.get(reverse("audit:event_detail", args=[mixed_log["demo_build"].pk]))
    assert detail.status_code == 200
    # Neighbour links stay among the rows she may see: past mallory's rows to her own login.
    assert (detail.context["previous_id"], detail.context["next_id"]) == (
        mixed_log["demo_request"].pk, mixed_log["alice_login"].pk)


# --- Filters -----------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"actor": "mallory"}, ["mallory_login", "other_request"]),
        ({"team": "demo"}, ["demo_build", "demo_request"]),
        ({"environment": "9"}, ["other_request"]),
        ({"action": "user.logged_in"}, ["mallory_login", "alice_login"]),
        ({"action": "request.*"}, ["other_request", "demo_request"]),
        ({"source": "worker"}, ["demo_build"]),
        ({"q": "EDGE-nyc"}, ["other_request"]),  # target, any case
        ({"q": "csv"}, ["audit_export"]),  # details
        ({"q": "bob"}, ["demo_request"]),  # actor
        ({"q": "approved"}, ["demo_request"]),  # action
        ({"q": "100%"}, []),  # LIKE wildcards are literal
        ({"team": "demo", "source": "web"}, ["demo_request"]),
    ],
)
def test_each_filter_selects_its_rows(client, carol, mixed_log, params, expected):
    login(client, carol)
    response = client.get(LIST, params)
    assert response.status_code == 200
    assert shown_ids(response) == [mixed_log[name].pk for name in expected]


@pytest.mark.django_db
def test_date_range_filter_includes_the_whole_last_day(client, carol):
    days = [timezone.make_aware(dt.datetime(2026, 3, day, 12)) for day in (1, 2, 3, 4)]
    rows = []
    for moment in days:
        with written_at(moment):
            rows.append(event(carol, "thing.done"))
    login(client, carol)
    response = client.get(LIST, {"since": "2026-03-02", "until": "2026-03-03"})
    assert shown_ids(response) == [rows[2].pk, rows[1].pk]
    response = client.get(LIST, {"since": "2026-03-02T13:00:00"})
    assert shown_ids(response) == [rows[3].pk, rows[2].pk]


@pytest.mark.django_db
def test_bad_filters_are_shown_not_run(client, carol, mixed_log):
    login(client, carol)
    response = client.get(LIST, {"since": "last tuesday"})
    assert response.status_code == 200 and response.context["page"] is None
    assert b"Enter a valid date" in response.content


@pytest.mark.django_db
def test_free_text_search_uses_the_trigram_index(carol, mixed_log):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN SELECT id FROM audit_auditevent WHERE {SEARCH_TEXT_SQL} ILIKE %s", ["%edge%"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "audit_search_trgm_idx" in plan


# --- Pages ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_keyset_pages_walk_older_and_back_newer_without_offset(client, carol):
    rows = [event(carol, f"thing.n{n}") for n in range(120)]
    newest_first = [row.pk for row in reversed(rows)]
    login(client, carol)

    first = client.get(LIST)
    assert shown_ids(first) == newest_first[:50]
    assert first.context["page"].newer is None
    with CaptureQueriesContext(connection) as queries:
        second = client.get(LIST, {"before": first.context["page"].older})
    assert shown_ids(second) == newest_first[50:100]
    assert not any("OFFSET" in query["sql"].upper() for query in queries.captured_queries)
    third = client.get(LIST, {"before": second.context["page"].older})
    assert shown_ids(third) == newest_first[100:] and third.context["page"].older is None

    back = client.get(LIST, {"after": third.context["page"].newer})
    assert shown_ids(back) == newest_first[50:100]
    assert b'data-testid="newer"' in back.content and b'data-testid="older"' in back.content


@pytest.mark.django_db
def test_pager_links_keep_the_filters(client, carol):
    for n in range(120):
        event(carol, "request.created" if n % 2 else "request.approved", team_slug="demo")
    login(client, carol)
    response = client.get(LIST, {"action": "request.created"})
    older = response.context["page"].older
    assert f'href="?action=request.created&amp;before={older}"'.encode() in response.content
    second = client.get(LIST, {"action": "request.created", "before": older})
    assert len(shown_ids(second)) == 10
    assert {e.action for e in second.context["page"].events} == {"request.created"}


@pytest.mark.django_db
def test_jump_to_a_date_starts_at_that_days_last_row(client, carol):
    start = timezone.make_aware(dt.datetime(2025, 6, 1, 8))
    by_day = {}
    for day in range(5):
        for hour in range(3):
            with written_at(start + dt.timedelta(days=day, hours=hour)):
                by_day.setdefault(day, []).append(event(carol, f"thing.d{day}h{hour}"))
    login(client, carol)

    response = client.get(LIST, {"date": "2025-06-03"})
    ids = shown_ids(response)
    assert ids[0] == by_day[2][-1].pk  # the last row of 3 June
    assert ids[-1] == by_day[0][0].pk
    assert response.context["page"].newer == by_day[2][-1].pk  # and there is a way back to newer rows


@pytest.mark.django_db
def test_htmx_requests_get_only_the_results(client, carol, mixed_log):
    login(client, carol)
    response = client.get(LIST, {"team": "demo"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'id="audit-results"' in body and "<html" not in body and "<form class=\"card audit-filters\"" not in body
    full = client.get(LIST, {"team": "demo"}).content.decode()
    assert "<html" in full and 'id="audit-results"' in full and 'name="q"' in full


# --- One row ---------------------------------------------------------------------------------------------


def test_diff_names_removed_added_and_changed_fields():
    changes = audit_diff(
        {"state": "pending", "ttl_hours": 72, "tags": {"a": 1, "b": 2}, "note": "x"},
        {"state": "approved", "ttl_hours": 72, "tags": {"a": 1, "c": 3}, "decided_by": "bob"},
    )
    assert [(c.field, c.change, c.before_text, c.after_text) for c in changes] == [
        ("decided_by", "added", "", "bob"),
        ("note", "removed", "x", ""),
        ("state", "changed", "pending", "approved"),
        ("tags.b", "removed", "2", ""),
        ("tags.c", "added", "", "3"),
    ]


@pytest.mark.django_db
def test_detail_shows_the_diff_the_aws_calls_and_the_hashes(client, bob, carol):
    row = record(
        actor=bob,
        action="request.approved",
        target=None,
        source=Source.WEB,
        team_slug="demo",
        before={"state": "pending"},
        after={"state": "approved", "plan_hash": "abc"},
        correlation_id="corr-1",
    )
    aws_call_record(region="us-west-2", operation="CreateVpc", outcome="ok", duration_ms=12, cause_event_id=row.pk)
    aws_call_record(region="us-west-2", operation="CreateSubnet", outcome="InvalidVpcID.NotFound", duration_ms=8, correlation_id="corr-1")
    aws_call_record(region="us-west-2", operation="DeleteVpc", outcome="ok", duration_ms=9, correlation_id="someone-else")
    login(client, carol)

    response = client.get(reverse("audit:event_detail", args=[row.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert [(c.field, c.change) for c in response.context["changes"]] == [("plan_hash", "added"), ("state", "changed")]
    assert [c.operation for c in response.context["aws_calls"]] == ["CreateVpc", "CreateSubnet"]
    assert "InvalidVpcID.NotFound" in body and "DeleteVpc" not in body
    assert row.hash in body and row.prev_hash in body and 'data-testid="hash-ok"' in body


@pytest.mark.django_db
def test_environment_timeline_carries_each_rows_aws_calls(bob):
    started = record(actor=bob, action="environment.provision_started", target=None, source=Source.WEB, environment_id=5, correlation_id="c5")
    ready = record(actor=None, action="environment.ready", target=None, source=Source.WORKER, environment_id=5)
    record(actor=None, action="environment.ready", target=None, source=Source.WORKER, environment_id=6)
    aws_call_record(region="us-west-2", operation="CreateVpc", outcome="ok", duration_ms=5, environment_id=5, cause_event_id=started.pk)
    aws_call_record(region="us-west-2", operation="CreateSubnet", outcome="ok", duration_ms=5, environment_id=5, correlation_id="c5")
    for _ in range(2):
        aws_call_record(region="us-west-2", operation="CreateVpc", outcome="RequestLimitExceeded", duration_ms=0, environment_id=5, correlation_id="c5")
    aws_call_record(region="us-west-2", operation="DeleteVpc", outcome="ok", duration_ms=7, correlation_id="someone-else")

    with CaptureQueriesContext(connection) as queries:
        timeline = environment_timeline(5)
    assert len(queries.captured_queries) == 2
    assert [e.pk for e in timeline] == [ready.pk, started.pk]
    assert timeline[0].aws_summary == {"count": 0, "operations": "", "duration_ms": 0, "problems": []}
    assert timeline[1].aws_summary == {
        "count": 4,
        "operations": "CreateVpc, CreateSubnet",  # each once, in the order of its first call
        "duration_ms": 10,
        "problems": ["CreateVpc RequestLimitExceeded ×2"],  # each kind once
    }

    from django.template.loader import render_to_string

    html = render_to_string("audit/_timeline.html", {"timeline_events": timeline})
    assert "environment.provision_started" in html and "4 AWS calls" in html and "CreateVpc, CreateSubnet" in html
    assert "CreateVpc RequestLimitExceeded ×2" in html


@pytest.mark.django_db
def test_export_links_are_offered_to_auditors_only(client, alice, carol, mixed_log):
    login(client, alice)
    assert b'data-testid="export-csv"' not in client.get(LIST).content
    client.logout()
    login(client, carol)
    body = client.get(LIST, {"team": "demo"}).content.decode()
    assert 'href="/audit/export?format=csv&amp;team=demo"' in body and 'data-testid="export-jsonl"' in body


@pytest.mark.django_db
def test_admin_shows_audit_rows_but_cannot_change_them(client, admin_user, mixed_log):
    login(client, admin_user)
    row = mixed_log["demo_request"]
    assert client.get(reverse("admin:audit_auditevent_changelist")).status_code == 200
    assert client.get(reverse("admin:audit_auditevent_change", args=[row.pk])).status_code == 200  # view only
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:audit_auditevent_delete", args=[row.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:audit_awscall_changelist")).status_code == 200
    assert AuditEvent.objects.filter(pk=row.pk, action="request.approved").exists()
