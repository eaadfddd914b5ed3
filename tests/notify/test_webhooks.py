"""Webhooks: signed deliveries to a real receiver process, retried with backoff; the SSRF guard at
registration and at delivery; the API and the page."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from notify.models import WebhookDelivery, WebhookEndpoint
from notify.webhooks import webhook_delivery_attempt
from tests.conftest import origin_of, wait_for
from tests.notify.conftest import Api

SECRET = "a-shared-secret-of-some-length"


def _signed(received: dict, secret: str = SECRET) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), received["body"].encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(received["headers"]["X-Wlpanel-Signature"], expected)


@pytest.fixture
def no_traffic(monkeypatch):
    """Fails the test if anything opens an HTTP connection (the guard must refuse before that)."""
    import urllib3.util.connection

    def refuse(address, *args, **kwargs):
        raise AssertionError(f"a connection to {address} was attempted")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", refuse)


# --- Delivery ---------------------------------------------------------------------------------


@pytest.mark.workers
def test_receiver_gets_a_signed_delivery_answers_500_once_and_gets_the_retry(
    start_worker, webhook_receiver, make_request, alice, bob, settings
):
    settings.WLPANEL_BASE_URL = "https://wlpanel.example.test"
    receiver = webhook_receiver(fail_first=1)
    created = Api(bob).post("/webhooks", {"url": receiver.url, "events": ["request.created"], "secret": SECRET, "team": "demo"})
    assert created.status_code == 201, created.content
    start_worker(concurrency=1, extra_env={"WLPANEL_WEBHOOK_RETRY_SECONDS": "0.5", "WLPANEL_BASE_URL": settings.WLPANEL_BASE_URL})

    request = make_request(alice, name="edge-hook")

    first, second = wait_for(lambda: receiver.received()[:2] if len(receiver.received()) >= 2 else None, timeout=60, message="the retry")
    assert (first["answered"], second["answered"]) == (500, 204)
    assert _signed(first) and _signed(second)
    body = json.loads(second["body"])
    assert body["event"] == "request.created" and body["team"] == "demo"
    assert body["url"] == f"https://wlpanel.example.test/requests/{request.pk}/"
    assert body["delivery"] == json.loads(first["body"])["delivery"]  # the same delivery, tried again
    assert second["headers"]["X-Wlpanel-Event"] == "request.created"

    delivery = wait_for(
        lambda: WebhookDelivery.objects.filter(state="delivered").first(), timeout=30, message="the delivery recorded"
    )
    assert (delivery.attempts, delivery.last_status_code, delivery.last_error) == (2, 204, "HTTP 500")
    assert not _signed(first, secret="another-secret-of-some-length")


def test_retries_back_off_exponentially_until_the_receiver_answers(webhook_receiver, team, settings):
    settings.WLPANEL_WEBHOOK_RETRY_SECONDS = 30
    receiver = webhook_receiver(fail_first=2)
    endpoint = WebhookEndpoint.objects.create(team=team, url=receiver.url, events=["*"], secret=SECRET)
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event="environment.ready", payload={"team": "demo", "message": "m", "url": "u", "actions": []})

    assert webhook_delivery_attempt(delivery_id=delivery.pk) == 30
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is None  # not due yet: nothing sent
    assert len(receiver.received()) == 1

    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == 60
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("delivered", 3)
    assert [item["answered"] for item in receiver.received()] == [500, 500, 204]
    assert all(_signed(item) for item in receiver.received())


def test_a_delivery_gives_up_after_the_last_attempt(webhook_receiver, team, settings):
    settings.WLPANEL_WEBHOOK_MAX_ATTEMPTS = 2
    receiver = webhook_receiver(fail_first=5)
    endpoint = WebhookEndpoint.objects.create(team=team, url=receiver.url, events=["*"], secret=SECRET)
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event="environment.ready", payload={"team": "demo", "message": "m", "url": "u", "actions": []})
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is not None
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("failed", 2, "HTTP 500")


def test_slack_format_is_an_incoming_webhook_message(webhook_receiver, team, settings, make_request, alice, bob, django_capture_on_commit_callbacks):
    settings.WLPANEL_BASE_URL = "https://wlpanel.example.test"
    receiver = webhook_receiver()
    endpoint = WebhookEndpoint.objects.create(team=team, url=receiver.url, events=["request.created"], secret=SECRET, format="slack")
    request = make_request(alice, name="edge-slack")
    delivery = endpoint.deliveries.get()
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
    (received,) = receiver.received()
    assert _signed(received)
    text = json.loads(received["body"])["text"]
    assert "demo/edge-slack" in text
    assert f"<https://wlpanel.example.test/requests/{request.pk}/|Open in wlpanel>" in text


def test_an_endpoint_takes_only_its_events_and_none_once_disabled(team, make_request, alice, bob, make_environment):
    takes_ready = WebhookEndpoint.objects.create(team=team, url="http://127.0.0.1:9/hook", events=["request.approved"], secret=SECRET)
    disabled = WebhookEndpoint.objects.create(team=team, url="http://127.0.0.1:9/hook", events=["*"], secret=SECRET, disabled_at=timezone.now())
    make_environment(alice, name="edge-events")
    assert list(takes_ready.deliveries.values_list("event", flat=True)) == ["request.approved"]
    assert not disabled.deliveries.exists()


# --- The SSRF guard -----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/hook"])
def test_a_webhook_to_metadata_or_a_private_address_is_refused(url, bob, no_traffic):
    answer = Api(bob).post("/webhooks", {"url": url, "events": ["*"], "secret": SECRET, "team": "demo"})
    assert answer.status_code == 400
    assert "may not go there" in answer.json()["errors"]["url"][0]
    assert not WebhookEndpoint.objects.exists()


def test_a_destination_that_became_private_is_refused_at_delivery_without_traffic(team, no_traffic):
    endpoint = WebhookEndpoint.objects.create(team=team, url="http://10.0.0.1/hook", events=["*"], secret=SECRET)
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event="environment.ready", payload={"team": "demo", "message": "m", "url": "u", "actions": []})
    assert webhook_delivery_attempt(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.state == "failed" and delivery.last_error.startswith("Refused: 10.0.0.1 resolves to 10.0.0.1, a private address")


def test_loopback_is_refused_in_production(bob, settings, no_traffic):
    settings.PRODUCTION = True
    answer = Api(bob).post("/webhooks", {"url": "http://127.0.0.1:8080/hook", "events": ["*"], "secret": SECRET, "team": "demo"})
    assert answer.status_code == 400 and "loopback" in answer.json()["errors"]["url"][0]


# --- API and page -------------------------------------------------------------------------------


def test_api_registers_lists_tests_and_disables_for_approvers(bob, alice, mallory, webhook_receiver):
    receiver = webhook_receiver()
    api = Api(bob)
    created = api.post("/webhooks", {"url": receiver.url, "events": ["request.created", "environment.ready"], "secret": SECRET})
    assert created.status_code == 201, created.content
    hook = created.json()
    assert hook["team"] == "demo" and hook["format"] == "json" and "secret" not in hook
    assert api.get("/webhooks").json()["items"] == [hook]
    row = AuditEvent.objects.get(action="webhook.created")
    assert row.actor_username == "bob" and row.team_slug == "demo" and SECRET not in json.dumps(row.after)

    test = api.post(f"/webhooks/{hook['id']}/test")
    assert test.status_code == 202 and test.json()["event"] == "webhook.test"
    assert webhook_delivery_attempt(delivery_id=test.json()["id"]) is None
    assert json.loads(receiver.received()[0]["body"])["event"] == "webhook.test"
    log = api.get(f"/webhooks/{hook['id']}/deliveries").json()
    assert log["items"][0]["state"] == "delivered" and log["items"][0]["attempts"] == 1

    assert Api(alice).post("/webhooks", {"url": receiver.url, "events": ["*"], "secret": SECRET, "team": "demo"}).status_code == 403
    assert Api(alice).get("/webhooks").json()["items"] == []
    assert Api(alice).post(f"/webhooks/{hook['id']}/disable").status_code == 403
    assert Api(mallory).get(f"/webhooks/{hook['id']}").status_code == 404

    disabled = api.post(f"/webhooks/{hook['id']}/disable")
    assert disabled.status_code == 200 and disabled.json()["disabled_at"] is not None
    assert AuditEvent.objects.filter(action="webhook.disabled", actor_username="bob").exists()
    assert api.post(f"/webhooks/{hook['id']}/test").status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://127.0.0.1:9/h", "events": ["*"], "secret": "short"}, "secret"),
        ({"url": "http://127.0.0.1:9/h", "events": ["request.nonsense"], "secret": SECRET}, "events"),
        ({"url": "http://127.0.0.1:9/h", "events": [], "secret": SECRET}, "events"),
        ({"url": "not a url", "events": ["*"], "secret": SECRET}, "url"),
        ({"url": "http://127.0.0.1:9/h\x00", "events": ["*"], "secret": SECRET}, "url"),
        ({"url": "http://127.0.0.1:9/h", "events": ["*"], "secret": SECRET, "format": "xml"}, "format"),
    ],
)
def test_api_refuses_bad_input_with_400(body, field, bob):
    answer = Api(bob).post("/webhooks", {**body, "team": "demo"})
    assert answer.status_code == 400
    assert field in answer.json()["errors"]


def test_page_adds_a_webhook_shows_its_log_and_disables_it(client, bob, webhook_receiver):
    receiver = webhook_receiver()
    client.force_login(bob)
    assert client.get("/notify/webhooks/").status_code == 200
    answer = client.post(
        "/notify/webhooks/", {"team": "demo", "url": receiver.url, "format": "slack", "events": ["environment.ready"], "secret": SECRET}
    )
    endpoint = WebhookEndpoint.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/notify/webhooks/{endpoint.pk}/"
    assert endpoint.format == "slack" and endpoint.events == ["environment.ready"]

    client.post(f"/notify/webhooks/{endpoint.pk}/test/")
    webhook_delivery_attempt(delivery_id=endpoint.deliveries.get().pk)
    page = client.get(f"/notify/webhooks/{endpoint.pk}/").content.decode()
    assert "webhook.test" in page and "Delivered" in page

    client.post(f"/notify/webhooks/{endpoint.pk}/disable/")
    endpoint.refresh_from_db()
    assert endpoint.disabled_at is not None
    assert 'data-testid="disabled"' in client.get(f"/notify/webhooks/{endpoint.pk}/").content.decode()


def test_page_refuses_a_private_destination(client, bob):
    client.force_login(bob)
    answer = client.post("/notify/webhooks/", {"team": "demo", "url": "http://10.0.0.1/hook", "format": "json", "events": ["*"], "secret": SECRET})
    assert answer.status_code == 200 and "a private address" in answer.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_members_see_no_form_and_may_not_open_a_webhook(client, alice, team):
    endpoint = WebhookEndpoint.objects.create(team=team, url="http://127.0.0.1:9/hook", events=["*"], secret=SECRET)
    client.force_login(alice)
    assert "Add a webhook" not in client.get("/notify/webhooks/").content.decode()
    assert client.get(f"/notify/webhooks/{endpoint.pk}/").status_code == 403


def test_beat_sends_again_what_a_lost_message_left_pending(team):
    from notify.webhooks import webhook_deliveries_due

    endpoint = WebhookEndpoint.objects.create(team=team, url="http://127.0.0.1:9/hook", events=["*"], secret=SECRET)
    payload = {"team": "demo", "message": "m", "url": "u", "actions": []}
    now = timezone.now()
    WebhookDelivery.objects.create(endpoint=endpoint, event="environment.ready", payload=payload)  # just queued
    lost = WebhookDelivery.objects.create(endpoint=endpoint, event="environment.ready", payload=payload)
    WebhookDelivery.objects.filter(pk=lost.pk).update(created_at=now - timedelta(minutes=5))
    overdue = WebhookDelivery.objects.create(endpoint=endpoint, event="environment.ready", payload=payload, next_attempt_at=now - timedelta(minutes=5))
    WebhookDelivery.objects.create(endpoint=endpoint, event="environment.ready", payload=payload, next_attempt_at=now + timedelta(minutes=5))
    WebhookDelivery.objects.create(endpoint=endpoint, event="environment.ready", payload=payload, state="delivered", next_attempt_at=None)
    assert webhook_deliveries_due(now=now) == [lost.pk, overdue.pk]


def test_disabling_an_endpoint_stops_what_was_still_waiting(team, bob):
    from notify.webhooks import webhook_endpoint_disable

    endpoint = WebhookEndpoint.objects.create(team=team, url="http://127.0.0.1:9/hook", events=["*"], secret=SECRET)
    waiting = WebhookDelivery.objects.create(endpoint=endpoint, event="environment.ready", payload={}, attempts=1)
    webhook_endpoint_disable(origin=origin_of(bob), endpoint=endpoint)
    waiting.refresh_from_db()
    assert waiting.state == "failed" and waiting.last_error == "The endpoint was disabled."
    assert webhook_delivery_attempt(delivery_id=waiting.pk) is None
    waiting.refresh_from_db()
    assert waiting.attempts == 1  # not tried again
