"""Fixtures of the engine's tests: the sandbox's control API, an opted-in zone, environments.

Workers get small engine tunables (leases, polls, capacity retries) through their environment,
so recovery after a kill or a capacity failure takes seconds, not minutes.
"""

import boto3
import pytest
import requests

from tests.conftest import SFO, opt_in_and_wait, origin_of, wait_for

SEED_GROUP = "us-west-2-wl1"
FAST_ENGINE = {
    "WLPANEL_POLL_SECONDS": "0.5",
    "WLPANEL_STEP_LEASE_SECONDS": "12",
    "WLPANEL_CREATE_GRACE_SECONDS": "8",
    "WLPANEL_CAPACITY_RETRY_SECONDS": "1",
    "WLPANEL_CAPACITY_MAX_ATTEMPTS": "2",
    "WLPANEL_DISPATCH_GRACE_SECONDS": "5",
}


class SandboxControl:
    """The sandbox's `/_sandbox/` control API, plus plain boto3 against it (as an operator would)."""

    def __init__(self, url: str):
        self.url = url

    def post(self, path: str, body: dict | None = None) -> dict:
        answer = requests.post(f"{self.url}/_sandbox/{path}", json=body or {}, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def delete(self, path: str) -> None:
        requests.delete(f"{self.url}/_sandbox/{path}", timeout=10).raise_for_status()

    def get(self, path: str, **query) -> dict:
        answer = requests.get(f"{self.url}/_sandbox/{path}", params=query, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def inventory(self, environment_id: int) -> list[dict]:
        return self.get("inventory", tag=f"wlpanel:environment={environment_id}")["items"]

    def calls(self, action: str | None = None) -> list[dict]:
        return self.get("calls", **({"action": action} if action else {}))["calls"]

    def ec2(self, region: str = "us-west-2"):
        return boto3.client(
            "ec2", region_name=region, endpoint_url=self.url, aws_access_key_id="sandbox", aws_secret_access_key="sandbox"
        )


@pytest.fixture
def control(sandbox) -> SandboxControl:
    yield SandboxControl(sandbox.url)


@pytest.fixture
def seed_zone(zone, control):
    """The seed's zone, cached as opted in, and opted in on the sandbox too."""
    opt_in_and_wait(control.ec2(), SEED_GROUP)
    return zone


@pytest.fixture
def engine_worker(start_worker, settings):
    """`engine_worker(**env)`: a worker with the fast engine tunables (and any overrides)."""

    def start(*, concurrency: int = 4, beat: bool = False, **extra_env):
        env = {**FAST_ENGINE, **extra_env}
        # The test's own reconcile (`wait_for_state(reconcile=True)`) dispatches as beat would beside
        # these workers: a message it sent to a worker the test then kills is sent again after their
        # grace, not after the default 30 s.
        settings.WLPANEL_DISPATCH_GRACE_SECONDS = float(env["WLPANEL_DISPATCH_GRACE_SECONDS"])
        return start_worker(concurrency=concurrency, beat=beat, extra_env=env)

    return start


@pytest.fixture
def make_environment(seed_zone, alice, bob):
    """Request as alice, approve as bob: the real services, which enqueue the build on commit."""
    from environments.services import environment_request_approve, environment_request_create

    def make(name: str, **fields):
        fields.setdefault("instance_type", "t3.medium")
        request = environment_request_create(
            origin=origin_of(alice), team=alice.memberships.first().team, zone=seed_zone, name=name, **fields
        )
        return environment_request_approve(origin=origin_of(bob), request_id=request.pk, plan_hash=request.plan_hash)

    return make


def wait_for_state(environment, *states: str, timeout: float = 60, reconcile: bool = False):
    """Wait until the environment reaches one of `states` (optionally re-driving like beat would)."""
    from environments.provisioning import engine

    def reached():
        if reconcile:
            engine.reconcile()
        environment.refresh_from_db()
        return environment.state in states

    wait_for(reached, timeout=timeout, interval=0.5 if reconcile else 0.2, message=f"{environment} to be {states}")
    return environment


def assert_matches_inventory(environment, control: SandboxControl) -> None:
    """Exactly one AWS resource per plan step, the ids the database holds, each with its three tags.

    An instance's volumes carry its tags too (its TagSpecifications name `volume`): one root
    volume per instance, which is not a step of its own."""
    items = control.inventory(environment.pk)
    by_key: dict[str, list[str]] = {}
    volumes: dict[str, int] = {}
    for item in items:
        key = item["tags"].get("wlpanel:resource")
        assert item["tags"]["Name"] == f"{environment.name}-{key}"
        if item["type"] == "volume":
            volumes[key] = volumes.get(key, 0) + 1
        else:
            by_key.setdefault(key, []).append(item["id"])
    resources = list(environment.resources.all())
    assert by_key == {resource.key: [resource.aws_id] for resource in resources}
    instances = {resource.key for resource in resources if resource.aws_id.startswith("i-")}
    assert volumes == dict.fromkeys(instances, 1)


__all__ = ["SFO", "SandboxControl", "assert_matches_inventory", "wait_for_state"]
