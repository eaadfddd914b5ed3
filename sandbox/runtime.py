"""The settings and records of one running sandbox, shared by its middleware and control API."""

import threading

from moto.ec2.models import ec2_backends
from moto.moto_api._internal.models import moto_api_backend

from sandbox import wavelength
from sandbox.accounts import Accounts
from sandbox.calllog import CallLog
from sandbox.credentials import Credentials, session_cap, session_seconds_from_env
from sandbox.faults import Consistency, Faults, Latency, Throttle
from sandbox.lab.registry import Labs
from sandbox.wavelength.availability_zones import opt_in_delay, opted_in_groups, requested_groups
from sandbox.wavelength.quotas import quota_settings


class SandboxRuntime:
    """Faults, latency, throttling, consistency, the call log, credentials and customer accounts,
    and the lock around moto.

    moto's state is global to the process, so one runtime per process is the useful number.
    """

    def __init__(
        self,
        pending_seconds: float = wavelength.instances.DEFAULT_PENDING_SECONDS,
        opt_in_seconds: float = wavelength.availability_zones.DEFAULT_OPT_IN_SECONDS,
        session_seconds: float | None = None,
    ):
        wavelength.apply()
        wavelength.pending_time.set(pending_seconds)
        opt_in_delay.set(opt_in_seconds)
        session_cap.set(session_seconds if session_seconds is not None else session_seconds_from_env())
        self.start_session_seconds = session_cap.seconds
        self.start_pending_seconds = wavelength.pending_time.seconds
        self.start_opt_in_seconds = opt_in_delay.seconds
        # moto is not written for concurrent requests: one request inside it at a time.
        # Latency is slept outside this lock, so slow calls still overlap.
        self.moto_lock = threading.RLock()
        self.latency = Latency()
        self.faults = Faults()
        self.throttle = Throttle()
        self.consistency = Consistency()
        self.calls = CallLog()
        self.credentials = Credentials()
        self.accounts = Accounts()
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
        self.credentials.reset()
        self.accounts.reset()
        session_cap.set(self.start_session_seconds)
        wavelength.pending_time.set(self.start_pending_seconds)
        opt_in_delay.set(self.start_opt_in_seconds)
        quota_settings.reset()

    def opted_in_groups(self, requested: bool = False) -> list[dict]:
        """Opted-in groups, or with ``requested`` those whose opt-in has not taken effect yet."""
        groups_of = requested_groups if requested else opted_in_groups
        with self.moto_lock:
            return [
                {"account": account, "region": region, "group": group}
                for account, region, backend in ec2_backends.iter_backends()
                for group in groups_of(backend)
            ]

    def describe(self) -> dict:
        """The current settings, as ``GET /_sandbox/state`` shows them."""
        return {
            "pending_seconds": wavelength.pending_time.seconds,
            "opt_in_seconds": opt_in_delay.seconds,
            "latency": self.latency.describe(),
            "faults": self.faults.describe(),
            "throttle": self.throttle.describe(),
            "consistency": self.consistency.describe(),
            "opted_in_groups": self.opted_in_groups(),
            "opt_in_requested_groups": self.opted_in_groups(requested=True),
            "quotas": quota_settings.describe(),
            "session_seconds": session_cap.seconds,
            "accounts": self.accounts.describe(),
        }
