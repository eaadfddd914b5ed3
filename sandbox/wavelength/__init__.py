"""moto 5.2.5 extended with AWS Wavelength, from outside (no fork, no copied moto code).

``apply()`` patches moto's classes in this process; call it before the first request. What it
adds is described in each module: availability_zones (zones, opt-in, offerings), network
(subnets, carrier gateways, carrier routes), addresses (Carrier IPs), instances (launch
rules, pending time), idempotency (ClientToken), dryrun (DryRun on every action the product
calls) and tags.
"""

import threading

from . import (
    addresses,
    availability_zones,
    carrier_gateways,
    dependencies,
    dryrun,
    idempotency,
    instances,
    network,
    quotas,
    routes,
    service_quotas,
    tags,
)
from .instances import pending_time

__all__ = ["apply", "pending_time"]

_lock = threading.Lock()
_applied = False


def apply() -> None:
    """Install the Wavelength extension into moto; later calls do nothing."""
    global _applied
    with _lock:
        if _applied:
            return
        for module in (
            availability_zones,
            network,
            carrier_gateways,
            routes,
            addresses,
            instances,
            tags,
            dependencies,
            quotas,
            service_quotas,
        ):
            module.install()
        # Last: they wrap the handlers the modules above have installed; a dry run is answered
        # before any of them acts.
        idempotency.install()
        dryrun.install()
        _applied = True
