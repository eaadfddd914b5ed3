"""Refreshing the stored quota readings: the only code here that talks to AWS (through aws/).

Pages and the API never call these reads; they ask for a refresh (`quota_refresh_request`), which
a worker runs (`quotas.refresh`), and show what is stored.
"""

import logging
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from aws import quotas as aws_quotas
from aws.client import AwsError, CallContext, ec2_client, servicequotas_client
from aws.errors import error_code, error_message
from clouds.models import AwsAccount
from clouds.services import account_access

from . import preflight
from .models import QuotaSnapshot

log = logging.getLogger(__name__)

SELF = "self"  # the panel's own account (its credentials); other accounts pass their id
REFRESH_TASK = "quotas.refresh"
# A refresh asked for this recently and not done yet is not asked for again (page loads pile up).
REQUEST_GRACE = timedelta(seconds=60)


def refresh_interval() -> timedelta:
    return timedelta(seconds=getattr(settings, "WLPANEL_QUOTA_REFRESH_SECONDS", 300))


def is_stale(snapshot: QuotaSnapshot, *, now=None) -> bool:
    now = now or timezone.now()
    return snapshot.checked_at is None or now - snapshot.checked_at >= refresh_interval()


def quota_snapshot_refresh(*, region: str, account_key: str = SELF) -> QuotaSnapshot:
    """Read the Region's quotas and usage now and store them (a worker's job, never a page's).

    A failure keeps the previous figures and stores why, so pages say "last check failed".
    """
    snapshot, _ = QuotaSnapshot.objects.get_or_create(account_key=account_key, region=region)
    context = CallContext(correlation_id=f"quotas:{account_key}:{region}"[:64])
    account = None if account_key == SELF else AwsAccount.objects.filter(account_id=account_key).first()
    if account_key != SELF and account is None:
        QuotaSnapshot.objects.filter(pk=snapshot.pk).update(error=f"No AWS account {account_key} is registered.")
        snapshot.refresh_from_db()
        return snapshot
    access = account_access(account)
    try:
        servicequotas = servicequotas_client(region, context=context, account=access)
        ec2 = ec2_client(region, context=context, account=access)
        quotas = {
            quota.quota_code: aws_quotas.quota_value(servicequotas, quota.service_code, quota.quota_code)
            for quota in preflight.quotas_to_read(snapshot.instance_types)
        }
        usage = aws_quotas.region_usage(ec2, instance_types=snapshot.instance_types)
    except AwsError as exc:
        log.warning("quota refresh of %s failed: %s", snapshot, exc)
        # requested_at stays: the grace period spares a failing AWS a refresh per page load.
        QuotaSnapshot.objects.filter(pk=snapshot.pk).update(error=f"{error_code(exc)}: {error_message(exc)}"[:500])
        snapshot.refresh_from_db()
        return snapshot
    QuotaSnapshot.objects.filter(pk=snapshot.pk).update(
        quotas=quotas, usage=usage, checked_at=timezone.now(), requested_at=None, error=""
    )
    snapshot.refresh_from_db()
    return snapshot


def _refresh_wanted(snapshot: QuotaSnapshot | None, instance_types, now) -> tuple[bool, list[str]]:
    """(whether to enqueue a refresh, instance types the reading lacks)."""
    if snapshot is None:
        return True, sorted(set(instance_types))
    missing = sorted(set(instance_types) - set(snapshot.instance_types))
    asked_recently = snapshot.requested_at is not None and now - snapshot.requested_at < REQUEST_GRACE
    return bool(is_stale(snapshot, now=now) or missing) and not asked_recently, missing


def quota_refresh_request(*, region: str, account_key: str = SELF, instance_types=()) -> bool:
    """Ask a worker to refresh the reading when it is stale, missing, or lacks an instance type
    the caller needs; True when a refresh was enqueued (after the surrounding transaction commits).
    A fresh reading costs one query and no lock."""
    now = timezone.now()
    found = QuotaSnapshot.objects.filter(account_key=account_key, region=region).first()
    wanted, missing = _refresh_wanted(found, instance_types, now)
    if not wanted and not missing:
        return False
    with transaction.atomic():
        snapshot, _ = QuotaSnapshot.objects.select_for_update().get_or_create(account_key=account_key, region=region)
        wanted, missing = _refresh_wanted(snapshot, instance_types, now)  # again, under the lock
        snapshot.instance_types = sorted({*snapshot.instance_types, *missing})
        if wanted:
            snapshot.requested_at = now
        snapshot.save(update_fields=["instance_types", "requested_at"])
    if wanted:
        transaction.on_commit(
            lambda: current_app.send_task(REFRESH_TASK, kwargs={"region": region, "account_key": account_key})
        )
    return wanted


def quota_snapshots_refresh_due() -> int:
    """Beat: enqueue a refresh of every stored (account, Region) reading that is stale."""
    count = 0
    for account_key, region in QuotaSnapshot.objects.values_list("account_key", "region"):
        count += quota_refresh_request(region=region, account_key=account_key)
    return count
