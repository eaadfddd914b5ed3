"""What pages and the API show of the pre-flight check: the stored reading only, never AWS."""

from django.utils import timezone

from . import preflight, services
from .models import QuotaSnapshot


def plan_preflight(plan: dict, *, account_key: str | None = None, refresh: bool = True) -> dict:
    """The `preflight` object beside a plan: rows, whether it all fits, and how old the reading is.

    `refresh`: ask a worker for a new reading when the stored one is missing, stale or lacks the
    plan's instance types (the page polls until it is there). Never part of the plan or its hash.
    """
    region = plan.get("spec", {}).get("region", "")
    # Quotas are per account: the plan names the account it builds in (none: the panel's own).
    account_key = account_key or plan.get("spec", {}).get("account_id") or services.SELF
    instance_types = preflight.plan_instance_types(plan)
    checking = services.quota_refresh_request(region=region, account_key=account_key, instance_types=instance_types) if refresh else False
    snapshot = QuotaSnapshot.objects.filter(account_key=account_key, region=region).first()
    now = timezone.now()
    checked_at = snapshot.checked_at if snapshot else None
    items = preflight.preflight_rows(plan, quotas=snapshot.quotas, usage=snapshot.usage) if checked_at else []
    if checked_at is None:
        state = "failed" if snapshot and snapshot.error else "checking"
    else:
        state = "checked"
    return {
        "account": account_key,
        "region": region,
        "state": state,
        "checked_at": checked_at,
        "age_seconds": int((now - checked_at).total_seconds()) if checked_at else None,
        "refreshing": bool(checking or (snapshot and snapshot.requested_at and not snapshot.error)),
        "fits": preflight.overall_fit(items) if checked_at else None,
        "error": snapshot.error if snapshot else "",
        "items": items,
    }
