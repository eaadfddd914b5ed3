"""Refreshing the stored reading: by a real worker through the served sandbox, only when stale,
and a failing AWS stored as a reason, never raised into a page."""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from quotas import services
from quotas.models import QuotaSnapshot
from quotas.selectors import plan_preflight
from tests.conftest import wait_for
from tests.quotas.test_preflight import plan

REGION = "us-west-2"


@pytest.fixture
def sent(monkeypatch):
    published = []
    monkeypatch.setattr(services.current_app, "send_task", lambda name, **kwargs: published.append((name, kwargs)))
    return published


@pytest.mark.workers
def test_a_worker_fills_in_the_reading_a_page_asked_for(start_worker, sandbox):
    start_worker(concurrency=1)
    waiting = plan_preflight(plan())  # what a page does: no AWS call, a refresh asked for
    assert waiting["state"] == "checking" and waiting["refreshing"]

    snapshot = wait_for(
        lambda: QuotaSnapshot.objects.filter(region=REGION, checked_at__isnull=False).first(),
        timeout=60,
        message="the worker's quota reading",
    )
    assert snapshot.instance_types == ["t3.medium", "t3.micro"]
    standard = snapshot.quotas["L-1216C47A"]
    assert (standard["value"], standard["source"]) == (64.0, "applied")  # the sandbox's demo account
    checked = plan_preflight(plan())
    assert checked["state"] == "checked" and checked["fits"] is True and not checked["refreshing"]


@pytest.mark.django_db(transaction=True)
def test_only_a_stale_or_incomplete_reading_is_refreshed_and_not_twice_in_a_row(sandbox, sent):
    services.quota_snapshot_refresh(region=REGION)
    assert services.quota_refresh_request(region=REGION) is False  # fresh
    assert services.quota_refresh_request(region=REGION, instance_types=["g4dn.2xlarge"]) is True  # a new type
    assert services.quota_refresh_request(region=REGION, instance_types=["g4dn.2xlarge"]) is False  # asked already
    services.quota_snapshot_refresh(region=REGION)
    QuotaSnapshot.objects.update(checked_at=timezone.now() - timedelta(minutes=6))
    assert services.quota_snapshots_refresh_due() == 1  # beat
    assert sent == [("quotas.refresh", {"kwargs": {"region": REGION, "account_key": "self"}})] * 2


@pytest.mark.django_db(transaction=True)
def test_a_failed_reading_is_stored_with_its_reason(sandbox):
    fault = {"action": "DescribeVpcs", "code": "UnauthorizedOperation", "status": 403, "count": 1}
    requests.post(f"{sandbox.url}/_sandbox/faults", json=fault, timeout=10).raise_for_status()
    snapshot = services.quota_snapshot_refresh(region=REGION)
    assert snapshot.checked_at is None and snapshot.error.startswith("UnauthorizedOperation: ")
    shown = plan_preflight(plan(), refresh=False)
    assert shown["state"] == "failed" and shown["error"] == snapshot.error

    snapshot = services.quota_snapshot_refresh(region=REGION)  # the fault was a one-off
    assert snapshot.checked_at is not None and snapshot.error == ""
