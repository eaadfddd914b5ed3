"""Quota refreshes (explicitly named, so a rename never orphans a queued message)."""

from celery import shared_task

from . import services


@shared_task(name="quotas.refresh", soft_time_limit=120)
def refresh(region: str, account_key: str = services.SELF) -> str:
    return str(services.quota_snapshot_refresh(region=region, account_key=account_key).checked_at)


@shared_task(name="quotas.refresh_due")
def refresh_due() -> int:
    return services.quota_snapshots_refresh_due()
