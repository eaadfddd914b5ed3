"""`/api/environments/{id}/checks`: start a run (202 {"run_id"}) and read the latest (DESIGN section 6)."""

from datetime import datetime

from django.http import Http404
from ninja import Router, Schema, Status

from audit.choices import Source
from audit.context import Origin
from environments.selectors import environment_get_visible
from wlpanel.api_errors import answers

from . import services

router = Router(tags=["checks"])


class RunStarted(Schema):
    run_id: int


class CheckItemOut(Schema):
    source: str
    destination: str
    protocol: str
    port: int | None
    expected: bool
    observed: bool | None
    verifiable: bool
    detail: str
    evidence: dict


class CheckRunOut(Schema):
    run_id: int
    state: str
    method: str
    automatic: bool
    plan_hash: str
    started_at: datetime
    finished_at: datetime | None
    agrees: bool | None
    detail: str
    measurements: dict
    items: list[CheckItemOut]


def run_data(run) -> dict:
    return {
        "run_id": run.pk,
        "state": run.state,
        "method": run.method,
        "automatic": run.automatic,
        "plan_hash": run.plan_hash,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "agrees": run.agrees,
        "detail": run.detail,
        "measurements": run.measurements,
        "items": run.items,
    }


@router.post("/environments/{environment_id}/checks", response=answers({202: RunStarted}, 400, 403, 404, 409))
def checks_start(request, environment_id: int):
    run = services.check_run_request(
        origin=Origin.from_request(request, Source.API), environment_id=environment_id
    )
    return Status(202, {"run_id": run.pk})


@router.get("/environments/{environment_id}/checks", response=answers({200: CheckRunOut}, 400, 404))
def checks_latest(request, environment_id: int):
    environment = environment_get_visible(request.user, environment_id)
    run = services.latest_run(environment)
    if run is None:
        raise Http404("No check run yet.")
    return run_data(run)
