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


def wait_for(path: Path, process: subprocess.Popen) -> str:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if path.exists():
            return path.read_text().strip()
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    raise AssertionError("the sandbox did not write its ready file in time")


def start_command(ready_file: Path, **environment: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "sandbox", "--port", "0", "--ready-file", str(ready_file)],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_command_serves_on_a_free_port_and_stops_on_sigterm(tmp_path):
    ready_file = tmp_path / "sandbox.url"
    process = start_command(ready_file)
    try:
        url = wait_for(ready_file, process)
        ec2 = boto3.client(
            "ec2",
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id="any",
            aws_secret_access_key="any",
        )
        zones = ec2.describe_availability_zones(AllAvailabilityZones=True)["AvailabilityZones"]
        with urllib.request.urlopen(f"{url}/_sandbox/state", timeout=10) as response:
            state = json.load(response)
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=START_TIMEOUT)

    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
    assert f"sandbox listening on {url}" in stdout.splitlines()
    assert process.returncode == 0, stderr
    assert any(zone["ZoneName"] == "us-east-1-wl1-bos-wlz-1" for zone in zones)
    assert state["pending_seconds"] == 5 and state["faults"] == [] and state["throttle"]["enabled"] is False
    assert {zone["OptInStatus"] for zone in zones if zone["ZoneType"] == "wavelength-zone"} == {
        "not-opted-in"
    }


def test_command_does_not_need_the_database(tmp_path):
    ready_file = tmp_path / "sandbox.url"
    process = start_command(ready_file, DATABASE_URL="postgres://nobody@127.0.0.1:9/absent")
    try:
        url = wait_for(ready_file, process)
        with urllib.request.urlopen(f"{url}/_sandbox/state", timeout=10) as response:
            assert response.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=START_TIMEOUT)

    assert process.returncode == 0
