"""The pre-flight quota check beside the plan: read by a worker through the served sandbox, stored,
shown on the request and approval pages and in the API, never read from AWS while a page loads."""

import html
from datetime import timedelta

import boto3
import pytest
import requests
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AwsCall
from environments.provisioning.plan import plan_hash as compute_plan_hash
from quotas.models import QuotaSnapshot
from quotas.services import quota_snapshot_refresh

from .test_api import Api
from .test_views import FORM, logged_in

pytestmark = pytest.mark.django_db
REGION = "us-west-2"


def lower_quota(sandbox, code: str, value: float) -> None:
    body = {"quota_code": code, "value": value}
    requests.post(f"{sandbox.url}/_sandbox/quotas", json=body, timeout=10).raise_for_status()


def api_get(user, path: str) -> dict:
    response = Api(user).get(path)
    assert response.status_code == 200, response.content
    return response.json()


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


@pytest.fixture
def pending(sandbox, make_request, alice, django_capture_on_commit_callbacks, published_tasks):
    with django_capture_on_commit_callbacks(execute=True):
        created = make_request(alice, name="edge-quota")
    return created


def test_a_submitted_request_asks_a_worker_for_the_reading_and_the_page_polls_until_it_is_there(
    pending, bob, published_tasks, sandbox
):
    assert ("quotas.refresh", None) in published_tasks  # kwargs: region and account
    approver = logged_in(Client(), bob)
    url = reverse("environments:request_detail", args=[pending.pk])
    poll = reverse("environments:request_quotas", args=[pending.pk])

    waiting = page(approver, url)
    assert "Not checked yet — checking" in waiting and f'hx-get="{poll}"' in waiting

    quota_snapshot_refresh(region=REGION)  # what the worker runs
    filled = page(approver, poll)
    assert 'data-testid="quota-row" data-code="L-F678F1CE"' in filled
    assert "hx-get" not in filled  # the reading is there: polling stops by itself
    assert "Checked now" in filled or "seconds ago" in filled


def test_a_lowered_quota_shows_does_not_fit_on_the_approval_page_and_in_the_api(pending, bob, sandbox):
    lower_quota(sandbox, "L-F678F1CE", 1)  # the default VPC already uses it
    quota_snapshot_refresh(region=REGION)

    shown = page(logged_in(Client(), bob), reverse("environments:request_detail", args=[pending.pk]))
    assert 'data-testid="quotas-no-fit"' in shown
    assert 'data-testid="quota-warning"' in shown
    assert "VPCs per Region: 1 in use + 1 needed > 1" in shown
    assert "Approve and build" in shown  # a warning, not a block

    answer = api_get(bob, f"/requests/{pending.pk}")
    preflight = answer["preflight"]
    vpcs = next(item for item in preflight["items"] if item["quota_code"] == "L-F678F1CE")
    assert preflight["fits"] is False and preflight["state"] == "checked" and preflight["region"] == REGION
    assert vpcs == {
        "quota": "VPCs per Region",
        "service_code": "vpc",
        "quota_code": "L-F678F1CE",
        "limit": 1.0,
        "in_use": 1,
        "needs": 1,
        "fits": False,
        "note": "",
        "how_to_raise": "Service Quotas console, or `aws service-quotas request-service-quota-increase "
        "--region us-west-2 --service-code vpc --quota-code L-F678F1CE --desired-value 2`.",
    }
    others = [item for item in preflight["items"] if item["quota_code"] != "L-F678F1CE"]
    assert others and all(item["fits"] for item in others)


def test_page_loads_make_no_aws_calls_even_when_the_reading_is_stale(
    pending, bob, alice, sandbox, published_tasks, django_capture_on_commit_callbacks
):
    quota_snapshot_refresh(region=REGION)
    QuotaSnapshot.objects.filter(region=REGION).update(checked_at=timezone.now() - timedelta(hours=1), requested_at=None)
    published_tasks.clear()
    calls = AwsCall.objects.count()

    approver = logged_in(Client(), bob)
    with django_capture_on_commit_callbacks(execute=True):
        page(approver, reverse("environments:request_detail", args=[pending.pk]))
        page(approver, reverse("environments:request_quotas", args=[pending.pk]))
        api_get(bob, f"/requests/{pending.pk}")
        preview = logged_in(Client(), alice).post(reverse("environments:request_preview"), FORM, HTTP_HX_REQUEST="true")
    assert 'data-testid="quotas"' in preview.content.decode()

    assert AwsCall.objects.count() == calls
    # Stale: a worker is asked (once, however many pages load), the pages show the stored figures.
    assert [name for name, _ in published_tasks] == ["quotas.refresh"]


def test_the_age_of_the_stored_reading_is_shown(pending, bob, sandbox):
    quota_snapshot_refresh(region=REGION)
    QuotaSnapshot.objects.filter(region=REGION).update(checked_at=timezone.now() - timedelta(minutes=2))
    shown = page(logged_in(Client(), bob), reverse("environments:request_detail", args=[pending.pk]))
    assert "Checked 2\xa0minutes ago" in shown
    assert api_get(bob, f"/requests/{pending.pk}")["preflight"]["age_seconds"] >= 120


def test_usage_changes_the_preflight_never_the_plan_or_its_hash(pending, bob, sandbox):
    quota_snapshot_refresh(region=REGION)
    before = api_get(bob, f"/requests/{pending.pk}")

    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=sandbox.url, aws_access_key_id="sandbox", aws_secret_access_key="sandbox")
    ec2.create_vpc(CidrBlock="10.50.0.0/16")
    quota_snapshot_refresh(region=REGION)
    after = api_get(bob, f"/requests/{pending.pk}")

    def vpcs(answer):
        return next(item for item in answer["preflight"]["items"] if item["quota_code"] == "L-F678F1CE")

    assert vpcs(after)["in_use"] == vpcs(before)["in_use"] + 1
    assert after["plan"] == before["plan"] and after["plan_hash"] == before["plan_hash"]
    assert compute_plan_hash(after["plan"]) == pending.plan_hash


def test_a_decided_request_carries_no_preflight(pending, bob, sandbox):
    from environments import services
    from tests.conftest import origin_of

    services.environment_request_reject(origin=origin_of(bob), request_id=pending.pk, comment="no")
    assert api_get(bob, f"/requests/{pending.pk}")["preflight"] is None
    assert Client().get(reverse("environments:request_quotas", args=[pending.pk])).status_code == 302  # login first
    assert logged_in(Client(), bob).get(reverse("environments:request_quotas", args=[pending.pk])).status_code == 286
