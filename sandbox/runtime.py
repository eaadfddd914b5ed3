"""The settings and records of one running sandbox, shared by its middleware and control API."""

import threading

from moto.ec2.models import ec2_backends
from moto.moto_api._internal.models import moto_api_backend

from sandbox import wavelength
from sandbox.calllog import CallLog
from sandbox.faults import Consistency, Faults, Latency, Throttle
from sandbox.lab.registry import Labs
from sandbox.wavelength.availability_zones import opted_in_groups


class SandboxRuntime:
    """Faults, latency, throttling, consistency, the call log, and the lock around moto.

    moto's state is global to the process, so one runtime per process is the useful number.
    """

    def __init__(self, pending_seconds: float = wavelength.instances.DEFAULT_PENDING_SECONDS):
        wavelength.apply()
        wavelength.pending_time.set(pending_seconds)
        self.start_pending_seconds = wavelength.pending_time.seconds
        # moto is not written for concurrent requests: one request inside it at a time.
        # Latency is slept outside this lock, so slow calls still overlap.
        self.moto_lock = threading.RLock()
        self.latency = Latency()
        self.faults = Faults()
        self.throttle = Throttle()
        self.consistency = Consistency()
        self.calls = CallLog()
        self.labs = Labs(self.moto_lock)  # the data plane (sandbox/lab/); sweeps stale namespaces

    def reset(self) -> None:
        """Back to a clean start: moto's own reset, then every sandbox setting and record."""
        self.labs.teardown_all()
        with self.moto_lock:
            # moto's reset rebuilds each regional EC2 backend (default VPC, AMIs: ~0.1 s a region)
            # only to discard it; dropping them first leaves the rebuild to the next call.
            ec2_backends.clear()
            moto_api_backend.reset()
        self.latency.clear()
        self.faults.clear()
        self.throttle.configure(enabled=False)
        self.consistency.clear()
        self.calls.clear()
        wavelength.pending_time.set(self.start_pending_seconds)

    def opted_in_groups(self) -> list[dict]:
        with self.moto_lock:
            return [
                {"account": account, "region": region, "group": group}
                for account, region, backend in ec2_backends.iter_backends()
                for group in opted_in_groups(backend)
            ]

    def describe(self) -> dict:
        """The current settings, as ``GET /_sandbox/state`` shows them."""
        return {
            "pending_seconds": wavelength.pending_time.seconds,
            "latency": self.latency.describe(),
            "faults": self.faults.describe(),
            "throttle": self.throttle.describe(),
            "consistency": self.consistency.describe(),
            "opted_in_groups": self.opted_in_groups(),
        }
