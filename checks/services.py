"""Check runs: requested by people or automatically when a build is ready; run by a worker."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.choices import Source
from audit.context import Origin
from audit.services import record
from aws.client import CallContext
from clouds.services import account_access
from environments.choices import EnvironmentState
from environments.exceptions import Conflict, PermissionDenied
from environments.models import Environment
from environments.presenters import zone_as_dict
from environments.queries import environment_resources
from environments.selectors import environment_get_visible
from netmodel.network import network_from_described
from netmodel.traffic import traffic_matrix
from notify import services as notifications
from wlpanel.compiled_query import CompiledQuery

from .choices import Method, RunState
from .models import CheckRun
from .permissions import can_run_checks
from .planning import cell_verdicts, plan_probes
from .runners import AwsProber, LabProber, LabUnavailable, unavailable_item_detail

log = logging.getLogger(__name__)


def current_method() -> str:
    return Method.AWS if settings.WLPANEL_AWS_ENDPOINT == "aws" else Method.LAB


def check_run_request(*, origin: Origin, environment_id: int) -> CheckRun:
    """A run on demand; an unfinished run of the environment is returned as it is."""
    environment = environment_get_visible(origin.user, environment_id)
    if not can_run_checks(origin.user, environment):
        raise PermissionDenied("Only the environment's team and admins run its checks.")
    if environment.state != EnvironmentState.READY:
        raise Conflict(f"Checks run on a ready environment; this one is {environment.state}.")
    with transaction.atomic():
        running = (
            CheckRun.objects.select_for_update()
            .filter(environment=environment, state=RunState.RUNNING)
            .first()
        )
        if running is not None:
            return running
        run = _create_run(
            environment, user=origin.user, automatic=False, correlation_id=origin.correlation_id
        )
    return run


def check_run_automatic(environment: Environment) -> CheckRun | None:
    """The one automatic run of a ready environment (settings.WLPANEL_CHECKS_AUTOMATIC)."""
    if not settings.WLPANEL_CHECKS_AUTOMATIC or environment.state != EnvironmentState.READY:
        return None
    if CheckRun.objects.filter(environment=environment, automatic=True).exists():
        return None
    try:
        with transaction.atomic():  # a savepoint: losing the race must not break the caller's transaction
            return _create_run(
                environment, user=None, automatic=True, correlation_id=environment.correlation_id
            )
    except IntegrityError:
        return None


def _create_run(environment: Environment, *, user, automatic: bool, correlation_id: str) -> CheckRun:
    from .tasks import run_checks

    run = CheckRun.objects.create(
        environment=environment,
        requested_by=user,
        automatic=automatic,
        method=current_method(),
        plan_hash=environment.plan_hash,
        correlation_id=correlation_id or "",
    )
    transaction.on_commit(lambda: run_checks.delay(run.pk))
    return run


def check_run_execute(run_id: int) -> CheckRun | None:
    """Send every probe, compare with the matrix, record the run, tell the owner of contradictions."""
    run = (
        CheckRun.objects.select_related("environment__zone", "environment__owner", "requested_by")
        .filter(pk=run_id, state=RunState.RUNNING)
        .first()
    )
    if run is None:
        return None
    environment = run.environment
    try:
        _execute(run, environment)
    except Exception as error:
        log.exception("check run %s failed", run.pk)
        run.state = RunState.FAILED
        run.agrees = False
        run.detail = f"the check run failed: {error}"[:2000]
    run.finished_at = timezone.now()
    run.save()
    _record(run, environment)
    return run


def _execute(run: CheckRun, environment: Environment) -> None:
    resources = environment_resources(environment)
    network = network_from_described(
        zone_as_dict(environment.zone),
        [{"key": r.key, "kind": r.kind, "aws_id": r.aws_id, "described": r.described} for r in resources],
    )
    rows = traffic_matrix(network)
    context = CallContext(environment_id=environment.pk, correlation_id=run.correlation_id)
    try:
        prober = _prober(run, environment, network, context)
    except LabUnavailable as unavailable:
        reason = unavailable_item_detail(str(unavailable))
        run.items = [{**item, "detail": reason} for item in _unverifiable_items(network, rows, reason)]
        run.agrees = False
        run.detail = reason
        run.state = RunState.DONE
        return
    outside = prober.outside()
    planned = plan_probes(network, rows, outside, timeout=settings.WLPANEL_CHECKS_TIMEOUT)
    run.items = prober.run(planned)
    run.measurements = {"path_mtu": prober.measure_mtu(network, outside)}
    verdicts = cell_verdicts(run.items)
    contradicted = [key for key, cell in verdicts.items() if cell["verdict"] == "contradicted"]
    run.agrees = not contradicted and any(item["verifiable"] for item in run.items)
    run.detail = (
        f"{len(contradicted)} cell(s) contradict the matrix: "
        + ", ".join(f"{s} → {d} {p}" for s, d, p in contradicted)
        if contradicted
        else ""
    )
    run.state = RunState.DONE


def _prober(run: CheckRun, environment: Environment, network, context: CallContext):
    access = account_access(environment.account)
    if run.method == Method.AWS:
        spec = environment.plan.get("spec", {})
        return AwsProber(
            region=environment.region, context=context, account=access, instance_profile=spec.get("instance_profile", "")
        )
    if network.vpc is None:
        raise LabUnavailable("the environment has no VPC")
    return LabProber(
        region=environment.region,
        context=context,
        endpoint=settings.WLPANEL_AWS_ENDPOINT,
        vpc_id=network.vpc.vpc_id,
        account=access,
    )


def _unverifiable_items(network, rows, reason: str) -> list[dict]:
    from .planning import Outside

    planned = plan_probes(network, rows, Outside(), timeout=settings.WLPANEL_CHECKS_TIMEOUT)
    return [
        {
            "source": p.source,
            "destination": p.destination,
            "protocol": p.protocol,
            "port": p.port,
            "expected": p.expected,
            "observed": None,
            "verifiable": False,
            "detail": reason,
            "evidence": {},
        }
        for p in planned
    ]


def _record(run: CheckRun, environment: Environment) -> None:
    verdicts = cell_verdicts(run.items)
    counts: dict[str, int] = {}
    for cell in verdicts.values():
        counts[cell["verdict"]] = counts.get(cell["verdict"], 0) + 1
    record(
        actor=run.requested_by,
        action=f"checks.{run.state}",
        target=environment,
        source=Source.WORKER,
        correlation_id=run.correlation_id or None,
        environment_id=environment.pk,
        details={
            "run_id": run.pk,
            "plan_hash": run.plan_hash,
            "method": run.method,
            "automatic": run.automatic,
            "agrees": run.agrees,
            "cells": counts,
            "detail": run.detail[:500],
        },
    )
    if run.state == RunState.DONE and any(cell["verdict"] == "contradicted" for cell in verdicts.values()):
        notifications.notify(
            users=[environment.owner],
            verb="checks.contradicted",
            team=environment.team,
            message=f"Connectivity checks of {environment} contradict the traffic matrix: {run.detail}"[:500],
            link=f"/environments/{environment.pk}/",
        )


def latest_run(environment: Environment) -> CheckRun | None:
    return _LATEST_RUN.first(environment_id=environment.pk)


_LATEST_RUN = CompiledQuery(  # read by every detail page: compiled once per process
    lambda environment_id: CheckRun.objects.filter(environment_id=environment_id).order_by("-started_at", "-id")[:1],
    environment_id=int,
)
