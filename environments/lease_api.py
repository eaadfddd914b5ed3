"""/api/ endpoints of the lease beyond the team's maximum: extension requests and their decisions.

Thin, like the pages (`environments.leases` holds the rules); mounted by the API root. Within the
maximum, `POST /api/environments/{id}/extend` extends at once.
"""

from datetime import datetime
from typing import Annotated

from ninja import Path, Router, Schema, Status
from pydantic import Field

from audit.choices import Source
from audit.context import Origin
from wlpanel.api_errors import answers

from . import leases

router = Router(tags=["environments"])
Id = Annotated[int, Path(..., ge=1, le=2**63 - 1)]


class ExtensionRequestIn(Schema):
    hours: int = Field(..., ge=1, le=leases.MAX_EXTENSION_HOURS)
    reason: str = Field("", max_length=500)


class DecisionIn(Schema):
    comment: str = Field("", max_length=500)


class ExtensionRequestOut(Schema):
    id: int
    environment_id: int
    requested_by: str
    hours: int
    reason: str
    state: str
    decided_by: str | None
    decided_at: datetime | None
    decision_comment: str
    created_at: datetime
    expires_at: datetime  # the environment's, after the decision


def extension_data(extension) -> dict:
    return {
        "id": extension.pk,
        "environment_id": extension.environment_id,
        "requested_by": extension.requested_by.get_username(),
        "hours": extension.hours,
        "reason": extension.reason,
        "state": extension.state,
        "decided_by": extension.decided_by.get_username() if extension.decided_by else None,
        "decided_at": extension.decided_at,
        "decision_comment": extension.decision_comment,
        "created_at": extension.created_at,
        "expires_at": extension.environment.expires_at,
    }


def _origin(request) -> Origin:
    return Origin.from_request(request, Source.API)


@router.post("/environments/{environment_id}/extension-requests", response=answers({201: ExtensionRequestOut}, 400, 403, 404, 409))
def extension_request_create(request, environment_id: Id, payload: ExtensionRequestIn):
    extension = leases.extension_request_create(
        origin=_origin(request), environment_id=environment_id, hours=payload.hours, reason=payload.reason
    )
    return Status(201, extension_data(extension))


@router.post("/extension-requests/{extension_id}/approve", response=answers({200: ExtensionRequestOut}, 400, 403, 404, 409))
def extension_request_approve(request, extension_id: Id, payload: DecisionIn | None = None):
    comment = payload.comment if payload else ""
    return extension_data(leases.extension_request_approve(origin=_origin(request), extension_id=extension_id, comment=comment))


@router.post("/extension-requests/{extension_id}/reject", response=answers({200: ExtensionRequestOut}, 400, 403, 404, 409))
def extension_request_reject(request, extension_id: Id, payload: DecisionIn | None = None):
    comment = payload.comment if payload else ""
    return extension_data(leases.extension_request_reject(origin=_origin(request), extension_id=extension_id, comment=comment))
