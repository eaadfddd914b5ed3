"""ClientToken for RunInstances, CreateCarrierGateway and CreateRouteTable.

The same token with the same parameters answers the first call's resource again; with other
parameters it fails with IdempotentParameterMismatch. Tokens are remembered per account and
region, like AWS does.
"""

import functools
import json
from collections.abc import Callable
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.responses import EC2Response

from .errors import idempotent_parameter_mismatch
from .state import RememberedCall, extras

IDEMPOTENT_HANDLERS = ("run_instances", "create_carrier_gateway", "create_route_table")
IGNORED_PARAMETERS = {"ClientToken", "DryRun"}


def request_fingerprint(params: Any) -> str:
    """A canonical text of the request's parameters, without the token itself."""
    plain = params.original_dict() if hasattr(params, "original_dict") else dict(params)
    relevant = {name: value for name, value in plain.items() if name not in IGNORED_PARAMETERS}
    return json.dumps(relevant, sort_keys=True, default=str)


def honour_client_token(handler: Callable) -> Callable:
    """Wrap a response handler so repeated calls with one ClientToken are idempotent."""

    @functools.wraps(handler)
    def idempotent_handler(self: EC2Response) -> ActionResult:
        token = self._get_param("ClientToken")
        if not token or self._get_param("DryRun"):
            return handler(self)
        remembered = extras(self.ec2_backend).client_tokens
        key = (self._get_action(), token)
        fingerprint = request_fingerprint(self.params)
        previous = remembered.get(key)
        if previous is not None:
            if previous.fingerprint != fingerprint:
                raise idempotent_parameter_mismatch()
            return previous.result
        result = handler(self)
        remembered[key] = RememberedCall(fingerprint, result)
        return result

    return idempotent_handler


def echo_client_token(handler: Callable) -> Callable:
    """Wrap CreateRouteTable so its answer carries the ClientToken, as AWS's does."""

    @functools.wraps(handler)
    def create_route_table(self: EC2Response) -> ActionResult:
        result = handler(self)
        token = self._get_param("ClientToken")
        return ActionResult({**result.result, "ClientToken": token}) if token else result

    return create_route_table


def install() -> None:
    EC2Response.create_route_table = echo_client_token(EC2Response.create_route_table)
    for name in IDEMPOTENT_HANDLERS:
        setattr(EC2Response, name, honour_client_token(getattr(EC2Response, name)))
