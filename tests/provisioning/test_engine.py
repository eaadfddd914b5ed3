"""The engine's bookkeeping without workers: dispatch, readiness, the poison guard, retries."""

import pytest
from celery import current_app

from environments.choices import ResourceState
from environments.models import Resource
from environments.provisioning import engine
from environments.services import environment_retry
from tests.conftest import origin_of

from .conftest import assert_matches_inventory, wait_for_state


@pytest.fixture
def sent(monkeypatch):
    """Messages the engine would publish, captured instead of sent."""
    messages = []
    monkeypatch.setattr(current_app, "send_task", lambda name, args=None, **options: messages.append((name, args)))
    return messages


@pytest.mark.django_db(transaction=True)
def test_advance_dispatches_each_ready_step_once(make_environment, sent):
    environment = make_environment("dispatch")
    sent.clear()
    assert engine.advance(environment.pk) == [environment.resources.get(key="vpc").pk]
    assert engine.advance(environment.pk) == []  # a duplicate advance: the step is already taken
    assert sent == [("environments.run_step", [environment.resources.get(key="vpc").pk])]


@pytest.mark.django_db(transaction=True)
def test_steps_become_ready_in_dependency_order_and_teardown_in_reverse(make_environment, sent):
    environment = make_environment("order")
    resources = {resource.key: resource for resource in environment.resources.all()}
    ready = sorted(key for key, r in resources.items() if engine.is_ready(r, resources, engine.BUILD))
    assert ready == ["vpc"]
    resources["vpc"].state = ResourceState.READY
    ready = sorted(key for key, r in resources.items() if engine.is_ready(r, resources, engine.BUILD))
    assert ready == ["bastion_sg", "carrier_gateway", "internet_gateway", "public_subnet", "wavelength_sg", "wavelength_subnet"]
    for resource in resources.values():
        resource.state = ResourceState.READY
    ready = sorted(key for key, r in resources.items() if engine.is_ready(r, resources, engine.TEARDOWN))
    assert ready == ["bastion", "carrier_ip"]  # nothing depends on them


@pytest.mark.django_db(transaction=True)
def test_poison_guard_fails_a_step_that_never_finishes(make_environment, sent, settings):
    settings.WLPANEL_STEP_MAX_ATTEMPTS = 3
    environment = make_environment("poison")
    vpc = environment.resources.get(key="vpc")
    for _ in range(3):  # three claims that never record an outcome: the worker died each time
        assert engine._claim(vpc.pk) is not None
        Resource.objects.filter(pk=vpc.pk).update(lease_until=None, lease_owner="")
    engine.run_step(vpc.pk)
    vpc.refresh_from_db()
    assert vpc.state == ResourceState.FAILED and vpc.last_error_code == "TooManyAttempts"
    engine.advance(environment.pk)
    environment.refresh_from_db()
    assert environment.state == "failed" and environment.failure_reason.startswith("VPC: Gave up after 3 attempts")


@pytest.mark.django_db(transaction=True)
def test_polls_are_not_crashes_for_the_poison_guard(make_environment, sent, settings, monkeypatch):
    settings.WLPANEL_STEP_MAX_ATTEMPTS = 3
    environment = make_environment("patient")
    vpc = environment.resources.get(key="vpc")
    monkeypatch.setitem(engine.steps.BUILD, "vpc", lambda ctx: engine.steps.Wait(0, "still pending"))
    for _ in range(6):  # twice the cap, every one a recorded Wait
        engine.run_step(vpc.pk, chain=False)
        vpc.refresh_from_db()
        assert vpc.state == ResourceState.CREATING and vpc.lease_owner == engine.QUEUED  # in line, no holder
    assert vpc.attempts == 6 and vpc.progress["unfinished_claims"] == 0


@pytest.mark.workers
def test_retry_after_a_capacity_failure_builds_the_rest(engine_worker, make_environment, control, alice):
    control.post("faults", {"preset": "capacity", "zone": "us-west-2-wl1-sfo-wlz-1"})
    engine_worker()
    environment = make_environment("retried", bastion=False)
    wait_for_state(environment, "failed", "ready", timeout=90)
    assert environment.state == "failed"
    control.delete("faults")
    environment_retry(origin=origin_of(alice), environment_id=environment.pk)
    wait_for_state(environment, "ready", "failed", timeout=60)
    assert environment.state == "ready", environment.failure_reason
    assert environment.resources.get(key="wavelength_instance").progress.get("capacity_attempts") is None
    assert_matches_inventory(environment, control)


@pytest.mark.django_db(transaction=True)
def test_a_step_whose_worker_stopped_beating_is_taken_over_before_its_lease_ends(make_environment, sent):
    from datetime import timedelta

    from django.utils import timezone

    from environments.models import WorkerHeartbeat

    environment = make_environment("orphaned-lease")
    vpc = environment.resources.get(key="vpc")
    now = timezone.now()
    heartbeat = WorkerHeartbeat.objects.create(
        node="celery@elsewhere", hostname="elsewhere", pid=4242, queues=["q"], capacity=1, started_at=now, beat_at=now
    )
    Resource.objects.filter(pk=vpc.pk).update(
        lease_owner="elsewhere:4242:4243:abcdef", lease_until=now + timedelta(minutes=2), state=ResourceState.CREATING
    )
    sent.clear()
    assert engine.advance(environment.pk) == []  # its worker beats: the lease stands

    heartbeat.beat_at = now - timedelta(minutes=1)  # three beats missed: that worker is dead
    heartbeat.save()
    assert engine.advance(environment.pk) == [vpc.pk]
    assert sent == [("environments.run_step", [vpc.pk])]
    assert engine._claim(vpc.pk) is not None


@pytest.mark.django_db(transaction=True)
def test_a_step_whose_process_is_gone_on_this_host_is_taken_over_at_once(make_environment, sent):
    import socket
    import subprocess
    from datetime import timedelta

    from django.utils import timezone

    environment = make_environment("gone-process")
    vpc = environment.resources.get(key="vpc")
    finished = subprocess.Popen(["true"])
    finished.wait()
    host = socket.gethostname()[:32]
    Resource.objects.filter(pk=vpc.pk).update(
        lease_owner=f"{host}:1:{finished.pid}:abcdef", lease_until=timezone.now() + timedelta(minutes=2)
    )
    sent.clear()
    assert engine.advance(environment.pk) == [vpc.pk]


@pytest.mark.django_db(transaction=True)
def test_a_turn_goes_to_the_environment_that_has_waited_longest_whatever_the_message_names(make_environment, sent):
    """The broker keeps messages in the order they were sent; the young environment's message
    builds the older environment's step first (first come, first ready)."""
    older, younger = make_environment("older"), make_environment("younger")
    engine.advance(younger.pk)
    engine.advance(older.pk)  # the older one's step is queued last, behind the younger's
    older_vpc, younger_vpc = (environment.resources.get(key="vpc") for environment in (older, younger))

    first = engine._claim(younger_vpc.pk)
    second = engine._claim(older_vpc.pk)

    assert (first.resource.pk, second.resource.pk) == (older_vpc.pk, younger_vpc.pk)
    assert engine._claim(younger_vpc.pk) is None  # a duplicate message: nothing is queued any more
    assert first.environment.state_changed_at < second.environment.state_changed_at
    assert engine._call_context(first).priority < engine._call_context(second).priority


@pytest.mark.django_db(transaction=True)
def test_a_teardown_has_a_head_start_but_waits_behind_builds_approved_long_before(make_environment, sent, settings):
    from datetime import timedelta

    from environments.models import Environment

    building = make_environment("building")
    destroying = make_environment("destroying")
    engine.advance(building.pk)
    # Built, then destroyed a moment after `building` was approved: its carrier IP goes first.
    destroying.resources.update(state=ResourceState.READY, lease_owner="", lease_until=None)
    Environment.objects.filter(pk=destroying.pk).update(
        state="destroying", state_changed_at=building.state_changed_at + timedelta(seconds=5)
    )
    engine.advance(destroying.pk)
    queued_teardown = set(
        destroying.resources.filter(lease_owner=engine.QUEUED).values_list("key", flat=True)
    )
    assert queued_teardown == {"bastion", "carrier_ip"}
    building_vpc = building.resources.get(key="vpc")

    assert engine._claim(building_vpc.pk).environment.pk == destroying.pk

    settings.WLPANEL_TEARDOWN_HEAD_START_SECONDS = 1  # less than the 5 s between them
    assert engine._claim(building_vpc.pk).resource.pk == building_vpc.pk


@pytest.mark.django_db(transaction=True)
def test_a_step_whose_wait_ran_out_joins_the_line_and_the_oldest_goes_first(make_environment, sent, monkeypatch):
    older, younger = make_environment("older-poll"), make_environment("younger-poll")
    engine.advance(older.pk)
    younger_vpc = younger.resources.get(key="vpc")
    # The younger one's VPC is polling: its countdown message arrives while the older one's is queued.
    Resource.objects.filter(pk=younger_vpc.pk).update(lease_owner="", lease_until=None, state=ResourceState.CREATING)

    assert engine._claim(younger_vpc.pk).environment.pk == older.pk
    younger_vpc.refresh_from_db()
    assert younger_vpc.lease_owner == engine.QUEUED  # in line, and the next turn is its
    assert engine._claim(younger_vpc.pk).resource.pk == younger_vpc.pk
