"""Sending the planned probes: SSM Run Command from instances (AWS and the sandbox alike), and
from the outside either the sandbox lab's hosts (method `lab`) or the panel's own host (`aws`).
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import requests
from django.conf import settings
from django.db import connections

from aws.client import AccountAccess, AwsError, CallContext
from aws.run_command import InstanceNotManaged, run_shell_script
from netmodel.probes import PROBE_SCRIPT, ProbeRequest, read_probe_output
from netmodel.traffic import CARRIER_METRO, CARRIER_OTHER, INTERNET, REGION_SUBNET, WAVELENGTH_INSTANCE

from .choices import Method
from .planning import Outside, PlannedProbe

LAB_UNAVAILABLE = "lab unavailable"
CARRIER_DEVICE_NEEDED = "not verifiable here: needs a device on the carrier network"
NO_INSTANCE_PROFILE = (
    "not verifiable: no SSM instance profile (an admin names one on the environment's AWS account; "
    "environments built after that carry it)"
)


class LabUnavailable(Exception):
    pass


class Prober:
    """Sends probes for one run. `outside()` says where the outside endpoints are."""

    method: str

    def __init__(self, *, region: str, context: CallContext, account: AccountAccess | None = None):
        self.region = region
        self.context = context
        self.account = account

    def outside(self) -> Outside:
        raise NotImplementedError

    def send_outside(self, sender: str, request: ProbeRequest) -> tuple[dict | None, str]:
        raise NotImplementedError

    def send(self, probe: PlannedProbe) -> tuple[dict | None, str]:
        """(the script's result, or None; the raw output or the reason there is none)."""
        if probe.sender.startswith("i-"):
            return self.send_ssm(probe.sender, probe.request)
        return self.send_outside(probe.sender, probe.request)

    def send_ssm(self, instance_id: str, request: ProbeRequest) -> tuple[dict | None, str]:
        try:
            done = run_shell_script(
                region=self.region,
                instance_id=instance_id,
                commands=request.shell_commands(),
                context=self.context,
                wait_seconds=request.timeout * 20 + 30,
                account=self.account,
            )
        except InstanceNotManaged as error:
            return None, f"not verifiable: no SSM instance profile or agent on {instance_id} ({error})"
        except AwsError as error:
            return None, f"not verifiable: SSM failed: {error}"
        result = read_probe_output(done.stdout)
        if result is None:
            return None, f"not verifiable: SSM {done.status}: {done.stderr.strip() or done.stdout.strip()}"[
                :1000
            ]
        return result, done.stdout

    def run(self, planned: list[PlannedProbe]) -> list[dict]:
        with ThreadPoolExecutor(max_workers=settings.WLPANEL_CHECKS_PARALLEL) as pool:
            return list(pool.map(self._item, planned))

    def measure_mtu(self, network, outside: Outside) -> dict:
        """Path MTU from the Wavelength instance to the Region and to the carrier network."""
        instance, bastion = network.wavelength_instance, network.bastion
        if instance is None:
            return {}
        targets = {}
        if bastion is not None:
            targets[f"{WAVELENGTH_INSTANCE}→{REGION_SUBNET}"] = bastion.private_ip
        if outside.addresses.get(CARRIER_METRO):
            targets[f"{WAVELENGTH_INSTANCE}→{CARRIER_METRO}"] = outside.addresses[CARRIER_METRO]
        measured = {}
        for name, target in targets.items():
            result, raw = self._guarded(
                lambda target=target: self.send_ssm(
                    instance.instance_id, ProbeRequest("mtu", target, 9001, 1)
                )
            )
            measured[name] = {
                "mtu": result.get("mtu") if result else None,
                "detail": (result or {}).get("detail", raw),
            }
        return measured

    def _guarded(self, send) -> tuple[dict | None, str]:
        try:
            return send()
        finally:
            connections.close_all()  # this worker thread's database connections (the AWS call log)

    def _item(self, probe: PlannedProbe) -> dict:
        item = {
            "source": probe.source,
            "destination": probe.destination,
            "protocol": probe.protocol,
            "port": probe.port,
            "expected": probe.expected,
            "observed": None,
            "verifiable": False,
            "detail": probe.why_not,
            "evidence": {"method": self.method},
        }
        if probe.request is None:
            return item
        result, raw = self._guarded(lambda: self.send(probe))
        item["evidence"].update({"from": probe.sender, "target": probe.request.target})
        if result is None:
            item["detail"] = raw
            return item
        item.update(observed=bool(result["passed"]), verifiable=True, detail=result.get("detail", ""))
        item["evidence"].update(
            {key: result[key] for key in ("ttl", "rtt_ms", "reply", "output") if result.get(key) is not None}
        )
        return item


class LabProber(Prober):
    """The sandbox: its lab's hosts are the internet and the carrier devices."""

    method = Method.LAB

    def __init__(
        self, *, region: str, context: CallContext, endpoint: str, vpc_id: str, account: AccountAccess | None = None
    ):
        super().__init__(region=region, context=context, account=account)
        self.endpoint = endpoint.rstrip("/")
        self.vpc_id = vpc_id
        answer = requests.post(f"{self.endpoint}/_sandbox/labs", json={"vpc_id": vpc_id}, timeout=120)
        if answer.status_code != 201:
            raise LabUnavailable(_detail(answer))
        self.lab = answer.json()

    def outside(self) -> Outside:
        hosts = {host["role"]: host for host in self.lab["hosts"] if host["role"] != "instance"}
        names = (INTERNET, CARRIER_METRO, CARRIER_OTHER)
        return Outside(
            addresses={name: hosts[name]["address"] for name in names if name in hosts},
            can_send_from=frozenset(name for name in names if name in hosts),
        )

    def send_outside(self, sender: str, request: ProbeRequest) -> tuple[dict | None, str]:
        answer = requests.post(
            f"{self.endpoint}/_sandbox/labs/{self.vpc_id}/probe",
            json={
                "from": sender,
                "mode": request.mode,
                "target": request.target,
                "port": request.port,
                "timeout": request.timeout,
            },
            timeout=request.timeout * 20 + 30,
        )
        if answer.status_code != 200:
            return None, f"not verifiable: the lab said {_detail(answer)}"
        payload = answer.json()
        if payload.get("result") is None:
            return None, f"not verifiable: the probe printed no result ({payload.get('error', '')[-300:]})"
        return payload["result"], payload.get("output", "")


class AwsProber(Prober):
    """Real AWS: the panel's host is the internet; no carrier device is at hand."""

    method = Method.AWS

    def __init__(self, *, region: str, context: CallContext, account: AccountAccess | None = None, instance_profile: str = ""):
        super().__init__(region=region, context=context, account=account)
        self.instance_profile = instance_profile

    def send_ssm(self, instance_id: str, request: ProbeRequest) -> tuple[dict | None, str]:
        if not self.instance_profile:  # no agent can register: don't wait for one
            return None, NO_INSTANCE_PROFILE
        return super().send_ssm(instance_id, request)

    def outside(self) -> Outside:
        target = settings.WLPANEL_CHECKS_INTERNET_TARGET
        return Outside(
            addresses={INTERNET: target} if target else {},
            can_send_from=frozenset({INTERNET}),
            why_not={
                INTERNET: "not verifiable: no internet endpoint set (WLPANEL_CHECKS_INTERNET_TARGET)",
                CARRIER_METRO: f"{CARRIER_DEVICE_NEEDED} in the zone's metro",
                CARRIER_OTHER: f"{CARRIER_DEVICE_NEEDED} of another carrier or metro area",
            },
        )

    def send_outside(self, sender: str, request: ProbeRequest) -> tuple[dict | None, str]:
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-", *request.arguments],
            input=PROBE_SCRIPT,
            capture_output=True,
            text=True,
            timeout=request.timeout * 20 + 10,
        )
        result = read_probe_output(done.stdout)
        return (result, done.stdout) if result else (None, f"not verifiable: {done.stderr.strip()[-300:]}")


def _detail(answer: requests.Response) -> str:
    try:
        return str(answer.json().get("detail", answer.text))
    except ValueError:
        return f"HTTP {answer.status_code}"


def unavailable_item_detail(reason: str) -> str:
    return reason if reason.startswith(LAB_UNAVAILABLE) else f"{LAB_UNAVAILABLE}: {reason}"
