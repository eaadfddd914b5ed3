"""Beat's daily price refresh (explicitly named, so a rename never orphans a queued message)."""

from celery import shared_task

from audit.choices import Source
from audit.context import Origin

from . import services


@shared_task(name="pricing.refresh", soft_time_limit=600)
def refresh() -> dict:
    return services.prices_refresh(origin=Origin.system(Source.BEAT))
