"""Celery tasks: thin, explicitly named entry points into the engine and its services.

Messages carry ids only; PostgreSQL holds the state, so a lost or duplicated message delays work
and never loses or duplicates AWS resources (see `environments.provisioning.engine`).
"""

from celery import shared_task
from django.db import OperationalError

from audit.choices import Source
from audit.context import Origin

from .provisioning import engine, expiry, refresh, zones

# A step's run must end before its lease does, or another worker could take it over mid-call.
STEP_TIME_LIMIT = max(engine.lease_seconds() - 5, 10)
DATABASE_RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "max_retries": 5}


@shared_task(name="environments.advance", **DATABASE_RETRY)
def advance(environment_id: int) -> None:
    engine.advance(environment_id)


@shared_task(
    name="environments.run_step",
    time_limit=STEP_TIME_LIMIT,
    soft_time_limit=max(STEP_TIME_LIMIT - 5, 5),
    **DATABASE_RETRY,
)
def run_step(resource_id: int) -> None:
    engine.run_step(resource_id)


@shared_task(name="environments.reconcile")
def reconcile() -> int:
    return engine.reconcile()


@shared_task(name="environments.refresh", **DATABASE_RETRY)
def refresh_environment(environment_id: int, correlation_id: str | None = None) -> None:
    refresh.environment_describe(environment_id, correlation_id=correlation_id)


@shared_task(name="environments.refresh_all")
def refresh_all() -> int:
    return refresh.environments_refresh_all()


@shared_task(name="environments.expire")
def expire() -> int:
    return expiry.environments_expire(origin=Origin.system(source=Source.BEAT))


@shared_task(name="environments.zones_refresh")
def zones_refresh() -> int:
    return zones.zones_refresh(origin=Origin.system(source=Source.BEAT))
