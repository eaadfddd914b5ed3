"""One product-shaped environment and its lab for all the lab tests (built once for the package;
test_teardown.py, last by name, ends with the sandbox's reset)."""

import subprocess

import pytest

from tests.lab.labkit import Control, build_environment


@pytest.fixture(scope="package")
def control(sandbox_server) -> Control:
    return Control(sandbox_server.url)


@pytest.fixture(scope="package")
def environment(control):
    """A fresh sandbox with one environment and its lab, shared by tests/lab; torn down afterwards."""
    control.ok("POST", "reset")
    control.ok("POST", "pending", {"seconds": 0})
    built = build_environment(control.url)
    built["lab"] = control.ok("POST", "labs", {"vpc_id": built["vpc"]})
    yield built
    control.call("DELETE", f"labs/{built['vpc']}")
    control.ok("POST", "reset")


def own_namespaces(prefix: str) -> list[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in listed.splitlines() if line.startswith(prefix)]
