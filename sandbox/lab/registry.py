"""The labs of one sandbox process: built on demand per VPC, rebuilt when the VPC changes."""

import atexit
import logging
import shutil
import tempfile
import threading
from pathlib import Path

from . import netns
from .describe import describe_vpc_network
from .lab import Lab, fingerprint
from .ssm import SsmCommands

log = logging.getLogger("sandbox.lab")


class Labs:
    """One per ``SandboxRuntime``. Stale namespaces of killed sandboxes are swept at start."""

    def __init__(self, moto_lock: threading.RLock):
        self.moto_lock = moto_lock
        self._lock = threading.RLock()
        self._labs: dict[str, Lab] = {}
        self._next_index = 1
        self._workdir: Path | None = None
        self.swept = netns.sweep_stale()
        self.ssm = SsmCommands(self, moto_lock)
        atexit.register(self.teardown_all)

    @property
    def unavailable(self) -> str | None:
        return netns.unavailable_reason()

    def ensure(self, vpc_id: str) -> Lab:
        """The VPC's lab, built now if missing or if the sandbox's VPC changed since it was built.

        Raises LabUnavailable without CAP_NET_ADMIN (or the tools), KeyError for an unknown VPC.
        """
        reason = self.unavailable
        if reason:
            raise netns.LabUnavailable(reason)
        with self._lock:
            with self.moto_lock:
                described = describe_vpc_network(vpc_id)
            if described is None:
                self.teardown(vpc_id)
                raise KeyError(f"no VPC {vpc_id} in the sandbox")
            network, where = described
            lab = self._labs.get(vpc_id)
            if lab is not None and lab.fingerprint == fingerprint(network):
                return lab
            if lab is not None:
                log.info("VPC %s changed: rebuilding its lab", vpc_id)
                self.teardown(vpc_id)
            lab = Lab(self._take_index(), vpc_id, network, where, self._lab_dir(vpc_id))
            lab.build()
            self._labs[vpc_id] = lab
            return lab

    def rebuild(self, vpc_id: str) -> Lab:
        """A fresh lab for the VPC (clears injected faults)."""
        with self._lock:
            self.teardown(vpc_id)
            return self.ensure(vpc_id)

    def get(self, vpc_id: str) -> Lab | None:
        with self._lock:
            return self._labs.get(vpc_id)

    def lab_of_instance(self, vpc_id: str, instance_id: str) -> Lab:
        lab = self.ensure(vpc_id)
        if instance_id not in lab.hosts:
            raise KeyError(f"instance {instance_id} is not running in the lab of {vpc_id}")
        return lab

    def teardown(self, vpc_id: str) -> bool:
        with self._lock:
            lab = self._labs.pop(vpc_id, None)
            if lab is None:
                return False
            lab.teardown()
            shutil.rmtree(lab.workdir, ignore_errors=True)
            log.info("lab %s for %s torn down", lab.prefix, vpc_id)
            return True

    def teardown_all(self) -> int:
        self.ssm.clear()
        with self._lock:
            vpc_ids = list(self._labs)
            for vpc_id in vpc_ids:
                self.teardown(vpc_id)
            return len(vpc_ids)

    def describe(self) -> list[dict]:
        with self._lock:
            return [lab.describe() for lab in self._labs.values()]

    def _take_index(self) -> int:
        index = self._next_index
        self._next_index = self._next_index % 0xFFF + 1
        return index

    def _lab_dir(self, vpc_id: str) -> Path:
        if self._workdir is None or not self._workdir.exists():
            self._workdir = Path(tempfile.mkdtemp(prefix="wlpanel-lab-"))
        path = self._workdir / vpc_id
        path.mkdir(exist_ok=True)
        return path
