"""Carrier gateways as EC2 runs them: a lifecycle, one per VPC, and deleted ones still listed.

- A new gateway is ``pending``, then ``available`` after the sandbox's pending time (the AWS CLI
  example of create-carrier-gateway answers ``pending``).
- DeleteCarrierGateway answers ``deleting``; after the pending time the gateway is ``deleted``
  and DescribeCarrierGateways still lists it for DELETED_VISIBLE_SECONDS, as EC2 does (the
  CLI example of delete-carrier-gateway answers ``deleting``). Deleting a deleted gateway is
  ``InvalidCarrierGatewayID.NotFound``; a ``deleting`` one answers as it is.
- At most one carrier gateway per VPC (VPC quotas: 1, not adjustable); a ``deleted`` one does
  not count. The error code for a second one is not documented: ``CarrierGatewayLimitExceeded``
  follows EC2's ``<Resource>LimitExceeded`` pattern and is marked unconfirmed.
"""

import time
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError, InvalidCarrierGatewayID
from moto.ec2.models import EC2Backend
from moto.ec2.models.carrier_gateways import CarrierGateway
from moto.ec2.responses import EC2Response

from .instances import pending_time
from .patching import wrap

PENDING = "pending"
AVAILABLE = "available"
DELETING = "deleting"
DELETED = "deleted"
DELETED_VISIBLE_SECONDS = 3600.0
MAX_PER_VPC = 1


def _state(self: CarrierGateway) -> str:
    now = time.monotonic()
    gone_at = self.__dict__.get("_sandbox_gone_at")
    if gone_at is not None:
        return DELETED if now >= gone_at else DELETING
    return AVAILABLE if now >= self.__dict__.get("_sandbox_ready_at", 0.0) else PENDING


def _set_state(self: CarrierGateway, value: str) -> None:
    # moto assigns "available" on creation and "deleted" on delete; the clock decides instead.
    if value == DELETED:
        start_deleting(self)


def start_deleting(gateway: CarrierGateway) -> None:
    if gateway.__dict__.get("_sandbox_gone_at") is None:
        gateway.__dict__["_sandbox_gone_at"] = time.monotonic() + pending_time.seconds


def _init(original: Callable) -> Callable:
    def __init__(self: CarrierGateway, *args: Any, **kwargs: Any) -> None:
        self.__dict__["_sandbox_ready_at"] = time.monotonic() + pending_time.seconds
        original(self, *args, **kwargs)

    return __init__


def gateways_of_vpc(backend: Any, vpc_id: str) -> list[CarrierGateway]:
    """The VPC's carrier gateways that are not ``deleted``."""
    return [
        gateway
        for gateway in backend.carrier_gateways.values()
        if gateway.vpc_id == vpc_id and gateway.state != DELETED
    ]


def check_one_per_vpc(backend: Any, vpc_id: str) -> None:
    existing = gateways_of_vpc(backend, vpc_id)
    if len(existing) >= MAX_PER_VPC:
        raise EC2ClientError(
            "CarrierGatewayLimitExceeded",
            f"The maximum number of carrier gateways for {vpc_id} has been reached "
            f"({MAX_PER_VPC}; {existing[0].id} exists).",
        )


def live_carrier_gateway(backend: Any, gateway_id: str) -> CarrierGateway:
    """The gateway unless unknown or ``deleted`` (``InvalidCarrierGatewayID.NotFound``)."""
    gateway = backend.carrier_gateways.get(gateway_id)
    if gateway is None or gateway.state == DELETED:
        raise InvalidCarrierGatewayID(gateway_id)
    return gateway


def delete_carrier_gateway(self: EC2Response) -> ActionResult:
    gateway = live_carrier_gateway(self.ec2_backend, self._get_param("CarrierGatewayId"))
    start_deleting(gateway)
    return ActionResult({"CarrierGateway": gateway})


def _purge_long_deleted(original: Callable) -> Callable:
    def describe_carrier_gateways(self: Any, ids: list[str] | None = None, filters: Any = None) -> list:
        now = time.monotonic()
        for gateway_id, gateway in list(self.carrier_gateways.items()):
            gone_at = gateway.__dict__.get("_sandbox_gone_at")
            if gone_at is not None and now >= gone_at + DELETED_VISIBLE_SECONDS:
                del self.carrier_gateways[gateway_id]
        return original(self, ids, filters)

    return describe_carrier_gateways


def install() -> None:
    wrap(CarrierGateway, "__init__", _init)
    CarrierGateway.state = property(_state, _set_state)
    EC2Response.delete_carrier_gateway = delete_carrier_gateway
    wrap(EC2Backend, "describe_carrier_gateways", _purge_long_deleted)
