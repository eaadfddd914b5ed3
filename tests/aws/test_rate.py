"""Rate shaping: shared, adaptive token buckets in front of EC2's, served oldest first.

Through the panel's own clients against the served sandbox, whose throttle is set to other numbers
than the engine's, with the buckets in Redis (the test's broker database).
"""

import json
import subprocess
import sys
import threading
import time

import pytest
import redis
import requests
from django.conf import settings
from django.db import connection

from audit.models import AwsCall
from aws import rate
from aws.client import CallContext, ec2_client

pytestmark = pytest.mark.django_db(transaction=True)

REGION = "us-west-2"


@pytest.fixture(autouse=True)
def fresh_buckets():
    """Buckets adapt and last an hour: each test starts from the documented numbers."""
    connection = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    for key in connection.scan_iter("wlpanel:rate:*"):
        connection.delete(key)
    yield
    for key in connection.scan_iter("wlpanel:rate:*"):
        connection.delete(key)


@pytest.fixture
def control(sandbox):
    def post(path: str, body: dict) -> dict:
        answer = requests.post(f"{sandbox.url}/_sandbox/{path}", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def calls() -> list[dict]:
        return requests.get(f"{sandbox.url}/_sandbox/calls", timeout=10).json()["calls"]

    post.calls = calls
    return post


def throttled(calls: list[dict]) -> int:
    return sum(call["code"] == "RequestLimitExceeded" for call in calls)


def burst(ec2, vpc_id: str, calls: int, threads: int) -> list[Exception]:
    """`calls` CreateTags from `threads` threads at once; the errors that reached the caller."""
    errors: list[Exception] = []
    numbers = iter(range(calls))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                number = next(numbers, None)
            if number is None:
                return
            try:
                ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": f"k{number % 10}", "Value": str(number)}])
            except Exception as exc:
                errors.append(exc)
            finally:
                connection.close()  # the call log's connection of this thread

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return errors


def test_categories_follow_ec2s_documented_buckets():
    assert rate.category_of("RunInstances", {}) == "run-instances"
    assert rate.category_of("CreateVpc", {}) == "mutating"
    assert rate.category_of("AuthorizeSecurityGroupIngress", {}) == "resource-intensive"
    assert rate.category_of("CreateTags", {}) == "tags"
    assert rate.category_of("DescribeInstances", {}) == "unfiltered-describe"
    assert rate.category_of("DescribeInstances", {"InstanceIds": ["i-1"]}) == "non-mutating"
    assert rate.category_of("DescribeVpcs", {}) == "non-mutating"
    assert rate.buckets()["mutating"] == (50, 5)


def test_bucket_numbers_are_settable_and_bad_ones_are_refused(settings):
    settings.WLPANEL_AWS_RATE_BUCKETS = {"mutating": [20, 3]}
    assert rate.buckets()["mutating"] == (20.0, 3.0) and rate.buckets()["tags"] == (100, 10)
    settings.WLPANEL_AWS_RATE_BUCKETS = {"mutate": [20, 3]}
    with pytest.raises(ValueError, match="unknown category 'mutate'"):
        rate.buckets()
    settings.WLPANEL_AWS_RATE_BUCKETS = {"mutating": [20, 0]}
    with pytest.raises(ValueError, match="refill > 0"):
        rate.buckets()


def test_a_throttle_cuts_the_rate_once_and_successes_raise_it_back_no_higher_than_documented():
    bucket = rate.Bucket(50, 5, updated=0.0)
    bucket.throttled(1.0)
    bucket.throttled(1.2)  # the other calls that were in flight: the same event
    assert bucket.rate == pytest.approx(3.5) and bucket.tokens == 0 and bucket.capacity == 25
    bucket.throttled(2.5)
    assert bucket.rate == pytest.approx(2.45)
    for _ in range(10_000):
        bucket.succeeded()
    assert bucket.rate == 5 and bucket.capacity == 50


def test_a_burst_adapts_to_limits_lower_than_the_documented_ones(sandbox, control):
    """The sandbox allows 6 tags calls a second with a burst of 5; the engine starts from AWS's
    documented 10/s and 100: it must learn the lower numbers from the answers."""
    ec2 = ec2_client(REGION, context=CallContext(environment_id=1, resource_key="burst"))
    vpc_id = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    control("throttle", {"enabled": True, "buckets": {"tags": {"size": 5, "refill_per_second": 6}}})
    requests.delete(f"{sandbox.url}/_sandbox/calls", timeout=10)

    errors = burst(ec2, vpc_id, calls=60, threads=4)

    calls = control.calls()
    assert errors == []
    assert sum(call["code"] is None and call["action"] == "CreateTags" for call in calls) == 60
    shaped = rate.state("self", REGION, "tags")
    print(f"throttled {throttled(calls)} of {len(calls)} attempts; bucket now {shaped}")
    # Without shaping 4 threads send as fast as the sandbox answers: most attempts bounce.
    assert throttled(calls) <= 12
    assert rate.buckets()["tags"][1] * rate.FLOOR <= shaped["rate"] < 6


SCRIPT = """
import os, sys, time, threading
from pathlib import Path
import django
django.setup()
from aws.client import CallContext, ec2_client
ec2 = ec2_client("us-west-2", context=CallContext(resource_key="process-" + sys.argv[1]))
ec2.describe_vpcs(VpcIds=[sys.argv[2]])
Path(sys.argv[3] + ".ready-" + sys.argv[1]).touch()
while not Path(sys.argv[3] + ".go").exists():
    time.sleep(0.02)
def work(n):
    for i in range(n):
        ec2.create_tags(Resources=[sys.argv[2]], Tags=[{"Key": f"p{sys.argv[1]}", "Value": str(i)}])
threads = [threading.Thread(target=work, args=(5,)) for _ in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
"""


def test_the_bucket_is_shared_by_worker_processes(sandbox, control, worker_env, tmp_path):
    """Two processes, each alone allowed the sandbox's whole rate: only a shared bucket keeps
    the two together under it."""
    numbers = {"size": 5, "refill_per_second": 5}
    vpc_id = ec2_client(REGION, context=CallContext()).create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    control("throttle", {"enabled": True, "buckets": {"tags": numbers}})
    env = {**worker_env, "WLPANEL_AWS_RATE_BUCKETS": json.dumps({"tags": [5, 5]})}
    barrier = str(tmp_path / "barrier")
    processes = [
        subprocess.Popen([sys.executable, "-c", SCRIPT, str(n), vpc_id, barrier], env=env, cwd=settings.BASE_DIR)
        for n in (1, 2)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"barrier.ready-{n}").exists() for n in (1, 2)):
        assert time.monotonic() < deadline and all(p.poll() is None for p in processes), "processes did not start"
        time.sleep(0.05)
    requests.delete(f"{sandbox.url}/_sandbox/calls", timeout=10)
    (tmp_path / "barrier.go").touch()
    assert [process.wait(timeout=120) for process in processes] == [0, 0]

    calls = [call for call in control.calls() if call["action"] == "CreateTags"]
    done = sum(call["code"] is None for call in calls)
    print(f"two processes: {done} done, {throttled(calls)} throttled")
    assert done == 40
    assert throttled(calls) <= 3  # a clock's width apart, the two buckets may disagree once


def test_the_oldest_waiter_is_served_first(sandbox, settings):
    """One token every half second: callers that arrived youngest first are served oldest first."""
    settings.WLPANEL_AWS_RATE_BUCKETS = {"tags": [1, 2]}
    vpc_id = ec2_client(REGION, context=CallContext()).create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    ec2_client(REGION, context=CallContext()).create_tags(Resources=[vpc_id], Tags=[{"Key": "drain", "Value": "v"}])
    approved = {environment_id: 1_000_000 + environment_id for environment_id in range(1, 6)}

    def call(environment_id: int) -> None:
        context = CallContext(environment_id=environment_id, resource_key="tag", priority=approved[environment_id])
        try:
            ec2_client(REGION, context=context).create_tags(Resources=[vpc_id], Tags=[{"Key": "k", "Value": str(environment_id)}])
        finally:
            connection.close()

    threads = []
    for environment_id in sorted(approved, reverse=True):  # the youngest asks first
        threads.append(threading.Thread(target=call, args=(environment_id,)))
        threads[-1].start()
        time.sleep(0.02)
    for thread in threads:
        thread.join()

    served = list(
        AwsCall.objects.filter(operation="CreateTags", outcome="ok", environment_id__isnull=False)
        .order_by("id")
        .values_list("environment_id", flat=True)
    )
    assert served == [1, 2, 3, 4, 5]


def test_without_redis_each_process_keeps_its_own_line_in_the_same_order():
    limiter = rate.LocalLimiter()
    assert limiter.try_take("k", 1, 1, "young", priority=20.0) == 0  # a token was there
    assert limiter.try_take("k", 1, 1, "young", priority=20.0) > 0
    # An older caller arrives: it is ahead in line, the younger one waits longer.
    older_wait = limiter.try_take("k", 1, 1, "old", priority=10.0)
    younger_wait = limiter.try_take("k", 1, 1, "young", priority=20.0)
    assert 0 < older_wait < younger_wait
