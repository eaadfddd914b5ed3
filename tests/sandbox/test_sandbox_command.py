"""``python manage.py sandbox`` as a subprocess: serves on a free port, stops cleanly on SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3

PROJECT_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30
UNREACHABLE_DATABASE = "postgres://nobody@127.0.0.1:9/absent"


class SandboxCommand:
    """``manage.py sandbox --port 0 --ready-file F`` running in the background."""

    def __init__(self, ready_file: Path, *options: str, **environment: str):
        self.ready_file = ready_file
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "sandbox", "--port", "0", "--ready-file", str(ready_file), *options],
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **environment},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait_until_ready(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.ready_file.exists():
                return self.ready_file.read_text().strip()
            assert self.process.poll() is None, self.process.communicate()
            time.sleep(0.1)
        raise AssertionError("the sandbox did not write its ready file in time")

    def terminate(self) -> tuple[str, str]:
        self.process.send_signal(signal.SIGTERM)
        return self.process.communicate(timeout=START_TIMEOUT)


def test_command_serves_on_a_free_port_and_stops_on_sigterm(tmp_path):
    # Started together to save time: one with the environment as given (DATABASE_URL passed
    # through), one whose database does not answer, since the command must not need it.
    regular = SandboxCommand(tmp_path / "regular.url")
    without_database = SandboxCommand(
        tmp_path / "no-database.url", "--opt-in-seconds", "0.5", DATABASE_URL=UNREACHABLE_DATABASE
    )
    try:
        url = regular.wait_until_ready()
        other_url = without_database.wait_until_ready()
        ec2 = boto3.client(
            "ec2",
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",
        )
        zones = ec2.describe_availability_zones(AllAvailabilityZones=True)["AvailabilityZones"]
        with urllib.request.urlopen(f"{url}/_sandbox/state", timeout=10) as response:
            state = json.load(response)
        with urllib.request.urlopen(f"{other_url}/_sandbox/state", timeout=10) as response:
            assert response.status == 200
            other_state = json.load(response)
    finally:
        stdout, stderr = regular.terminate()
        without_database.terminate()

    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0") and url != other_url
    assert f"sandbox listening on {url}" in stdout.splitlines()
    assert regular.process.returncode == 0, stderr
    assert without_database.process.returncode == 0
    assert any(zone["ZoneName"] == "us-east-1-wl1-bos-wlz-1" for zone in zones)
    assert {zone["OptInStatus"] for zone in zones if zone["ZoneType"] == "wavelength-zone"} == {
        "not-opted-in"
    }
    assert state["pending_seconds"] == 5
    # Strict by default: a 5 s opt-in, the demo account's quotas (AWS's defaults for VPCs etc.).
    assert state["opt_in_seconds"] == 5 and other_state["opt_in_seconds"] == 0.5
    assert state["quotas"]["profile"] == "sandbox"
    assert {quota["quota_code"]: quota["applied"] for quota in state["quotas"]["quotas"]}["L-F678F1CE"] == 5
    assert state["faults"] == [] and state["latency"] == [] and state["throttle"]["enabled"] is False
