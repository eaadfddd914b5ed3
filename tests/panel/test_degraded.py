"""Degraded, not broken: with the database gone the API answers JSON 503, pages a 503 in the layout;
correlation ids are the server's own."""

import socket

import pytest
from django.db import connection
from django.test import Client

from audit.models import AuditEvent


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on exit: nothing answers there


@pytest.fixture
def database_down(transactional_db):
    """The app's connection now points at a port where no database answers (as after a crash)."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(_closed_port()))
    yield
    connection.close()
    connection.settings_dict.clear()
    connection.settings_dict.update(saved)


def test_the_api_answers_json_503_with_retry_after_while_the_database_is_down(database_down):
    client = Client(raise_request_exception=False)
    response = client.get("/api/environments", HTTP_AUTHORIZATION="Bearer some-token")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"].isdigit()
    assert "database" in response.json()["detail"]
    client.cookies["sessionid"] = "a-session-the-database-would-know"  # looked up in the database too
    session = client.get("/api/environments")
    assert session.status_code == 503 and session.json()["errors"] == {}


def test_pages_answer_503_in_the_site_layout_while_the_database_is_down(database_down):
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "a-session-the-database-would-know"
    response = client.get("/environments/")
    assert response.status_code == 503 and response["Retry-After"].isdigit()
    page = response.content.decode()
    assert 'data-testid="database-unavailable"' in page and 'class="brand"' in page


@pytest.mark.django_db
def test_correlation_ids_are_the_servers_and_the_clients_id_is_only_recorded(client, alice, zone):
    client.force_login(alice)
    body = {"name": "traced", "team": "demo", "zone": zone.name, "instance_type": "t3.medium"}
    response = client.post("/api/requests", body, content_type="application/json", HTTP_X_REQUEST_ID="someone-elses-id")
    assert response.status_code == 201, response.content
    server_id = response["X-Request-ID"]
    assert server_id != "someone-elses-id" and len(server_id) == 32
    event = AuditEvent.objects.get(action="request.created")
    assert event.correlation_id == server_id  # what timelines join on
    assert event.details["client_request_id"] == "someone-elses-id"  # kept, apart
