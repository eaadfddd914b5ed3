"""Celery tasks: thin, explicitly named entry points into the engine and its services.

Messages carry ids only; PostgreSQL holds the state, so a lost or duplicated message delays work
and never loses or duplicates AWS resources (see `environments.provisioning.engine`).
"""

import logging

from celery import shared_task
from celery.signals import worker_init, worker_process_init
from django.conf import settings
from django.db import DatabaseError, OperationalError, connections

from audit.choices import Source
from audit.context import Origin
from aws import client as aws_client
from clouds.models import AwsAccount
from clouds.services import account_access

from .provisioning import engine, expiry, refresh, zones

log = logging.getLogger(__name__)

# A step's run must end before its lease does, or another worker could take it over mid-call.
STEP_TIME_LIMIT = max(engine.lease_seconds() - 5, 10)
DATABASE_RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "max_retries": 5}


@worker_process_init.connect
def warm_aws_clients(**_) -> None:
    """Each prefork child builds its AWS clients once, before its first step (~0.3 s of CPU each)."""
    if settings.WLPANEL_AWS_ENDPOINT:
        try:
            aws_client.warm_up(settings.WLPANEL_AWS_REGIONS)
        except Exception:
            log.exception("could not build AWS clients ahead of time; steps will build them")


# The AWS accounts as the worker's main process found them at start; its prefork children inherit them.
_accounts_at_start: list = []


@worker_init.connect
def read_accounts(**_) -> None:
    """Before the pool forks: the accounts whose roles each child assumes ahead of its first step
    (otherwise every process pays one AssumeRole per account inside a step)."""
    if not settings.WLPANEL_AWS_ENDPOINT:
        return
    try:
        _accounts_at_start[:] = [(account_access(account), list(account.regions)) for account in AwsAccount.objects.order_by("pk")]
    except DatabaseError:
        log.exception("could not read the AWS accounts; their clients will be built by the steps")
    finally:
        connections.close_all()
    # Connected now, so it runs after Celery's own handler has dropped the connections the child
    # inherited: assuming a role writes to the call log.
    worker_process_init.connect(warm_account_clients, weak=False, dispatch_uid="wlpanel-warm-account-clients")


def warm_account_clients(**_) -> None:
    try:
        aws_client.warm_up([], _accounts_at_start)
    except Exception:
        log.exception("could not assume the accounts' roles ahead of time; steps will")
    finally:
        connections.close_all()


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


# AWS opts a group in a little after accepting the request: follow it every few seconds, for up
# to ten minutes (beat's zone refresh would also see it, later).
OPT_IN_FOLLOW_SECONDS = 3
OPT_IN_FOLLOW_TRIES = 200


@shared_task(name="environments.zone_opt_in_follow", bind=True, max_retries=OPT_IN_FOLLOW_TRIES)
def zone_opt_in_follow(
    self, group: str, region: str, correlation_id: str, cause_event_id: int | None = None, account_pk: int | None = None
) -> bool:
    origin = Origin.system(source=Source.WORKER, correlation_id=correlation_id)
    try:
        account = AwsAccount.objects.filter(pk=account_pk).first() if account_pk else None
        done = zones.zone_group_opt_in_follow(
            group=group, region=region, origin=origin, account=account, cause_event_id=cause_event_id
        )
    except aws_client.AwsError as exc:
        log.warning("following the opt-in of %s failed: %s", group, exc)
        done = False
    if not done:
        raise self.retry(countdown=OPT_IN_FOLLOW_SECONDS)
    return True


@shared_task(name="environments.expire_requests")
def expire_requests() -> int:
    """Pending requests past their policy's approval window become `expired`."""
    from . import approvals

    return approvals.requests_expire(origin=Origin.system(source=Source.BEAT))
