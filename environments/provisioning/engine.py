"""The provisioning engine: PostgreSQL decides, messages only say "look at environment N".

- `advance(environment_id)` settles the environment when every step is settled, otherwise
  dispatches each step that is ready (dependencies done, no live lease, due) as its own
  `environments.run_step` message, so independent steps run on different worker processes.
- `run_step(resource_id)` is a worker's turn: the named step joins the queued ones if it is due,
  and the turn goes to the queued step of the environment that has waited longest (first come,
  first ready; teardowns get a head start). It claims that step (row lock with SKIP LOCKED, then
  a lease committed before any AWS call), runs the step executor with no transaction open, records the outcome,
  and either advances the environment, re-enqueues itself with a short countdown, or leaves a
  `next_attempt_at` for the reconciler (long waits such as capacity retries).
- `reconcile()` (beat) re-drives every active environment: lost messages, killed workers and
  broker restarts only delay work.

Duplicate messages are harmless: a claim needs the step to be due, unleased and unfinished.
How an operation ends (state, audit row, notification) is written by `outcomes`, not here.
A poison guard (`WLPANEL_STEP_MAX_ATTEMPTS` claims) fails a step that never finishes.
"""

import logging
import os
import random
from dataclasses import dataclass
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, When
from django.utils import timezone

from aws import client as aws_client
from aws.errors import CAPACITY_HINT, Action, Verdict, classify, quota_hint
from clouds.services import account_access
from environments import network_view
from environments.choices import ENVIRONMENT_ACTIVE_STATES, EnvironmentState, ResourceState
from environments.models import Environment, Resource

from . import calls, liveness, outcomes, steps

log = logging.getLogger(__name__)

RUN_STEP_TASK = "environments.run_step"
ADVANCE_TASK = "environments.advance"
QUEUED = "queued"  # lease owner while a run_step message is on its way
BUILD, TEARDOWN = "build", "teardown"
# Progress that belongs to one operation (build, retry, teardown) and starts afresh with the next.
PER_OPERATION_PROGRESS = frozenset(
    {
        "errors",
        "capacity_attempts",
        "hint",
        "waiting",
        "terminate_requested",
        "inventory_rounds",
        "remaining",
        "waiting_since",
        "unfinished_claims",
    }
)


def engine_setting(name: str, default: float) -> float:
    """An engine tunable: Django settings first, then the process environment (tests pass them to workers)."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name)
    return type(default)(value) if value is not None else default


def lease_seconds() -> int:
    return engine_setting("WLPANEL_STEP_LEASE_SECONDS", 120)


def max_attempts() -> int:
    """Claims in a row that never recorded an outcome (each crashed its worker) before a step fails."""
    return engine_setting("WLPANEL_STEP_MAX_ATTEMPTS", 100)


def wait_limit_seconds() -> float:
    """How long an instance may stay pending (build) or shutting down (teardown) before the step fails."""
    return engine_setting("WLPANEL_INSTANCE_WAIT_LIMIT_SECONDS", 900.0)


def max_errors() -> int:
    """Consecutive retryable errors (throttling, 5xx, no answer, bugs) before a step fails."""
    return engine_setting("WLPANEL_STEP_MAX_ERRORS", 30)


def poll_seconds() -> float:
    return engine_setting("WLPANEL_POLL_SECONDS", 2.0)


def grace_seconds() -> float:
    return engine_setting("WLPANEL_CREATE_GRACE_SECONDS", 60.0)


def capacity_retry_seconds() -> float:
    return engine_setting("WLPANEL_CAPACITY_RETRY_SECONDS", 300.0)


def capacity_max_attempts() -> int:
    return engine_setting("WLPANEL_CAPACITY_MAX_ATTEMPTS", 6)


def short_wait_seconds() -> float:
    """Waits up to this long are a countdown message; longer ones are left to the reconciler."""
    return engine_setting("WLPANEL_SHORT_WAIT_SECONDS", 60.0)


def dispatch_grace_seconds() -> float:
    """How long a dispatched step counts as taken before the reconciler sends it again."""
    return engine_setting("WLPANEL_DISPATCH_GRACE_SECONDS", 30.0)


def teardown_head_start_seconds() -> float:
    """How much earlier than its destroy request a teardown counts in line (it frees quota and
    stops costs; it is still never ahead of builds approved more than this long before)."""
    return engine_setting("WLPANEL_TEARDOWN_HEAD_START_SECONDS", 600.0)


def turn_of(environment: Environment) -> float:
    """Its place in line for workers and AWS's rate, epoch seconds (smaller goes first): when its
    operation began (approval, retry or destroy request)."""
    head_start = teardown_head_start_seconds() if environment.state == EnvironmentState.DESTROYING else 0.0
    return environment.state_changed_at.timestamp() - head_start


def mode_of(environment: Environment) -> str | None:
    return {EnvironmentState.PROVISIONING: BUILD, EnvironmentState.DESTROYING: TEARDOWN}.get(
        environment.state
    )


# --- Readiness --------------------------------------------------------------------------------------


def is_finished(resource: Resource, mode: str) -> bool:
    return resource.state == (ResourceState.READY if mode == BUILD else ResourceState.DELETED)


def is_blocked(resource: Resource, mode: str) -> bool:
    """Failed in this phase: the environment fails (a build failure does not block teardown)."""
    return resource.state == ResourceState.FAILED and resource.progress.get("phase", BUILD) == mode


def is_ready(resource: Resource, by_key: dict[str, Resource], mode: str) -> bool:
    """Build: its dependencies are ready. Teardown: everything that depends on it is deleted."""
    if is_finished(resource, mode) or is_blocked(resource, mode):
        return False
    if mode == BUILD:
        return all(by_key[key].state == ResourceState.READY for key in resource.depends_on)
    return all(
        other.state == ResourceState.DELETED for other in by_key.values() if resource.key in other.depends_on
    )


def is_due(resource: Resource, now, *, queued_is_free: bool = False) -> bool:
    if resource.next_attempt_at and resource.next_attempt_at > now:
        return False
    if queued_is_free and resource.lease_owner == QUEUED:
        return True
    return resource.lease_until is None or resource.lease_until <= now or _owner_dead(resource)


def _owner_dead(resource: Resource) -> bool:
    """The lease's holder is known dead (process gone here, or its worker's heartbeat stopped):
    the step is taken over at once instead of when the lease runs out."""
    return resource.lease_owner not in ("", QUEUED) and liveness.lease_owner_is_dead(resource.lease_owner)


# --- advance ----------------------------------------------------------------------------------------


def advance(environment_id: int, *, keep_one: bool = False) -> list[int]:
    """Settle the environment or dispatch its ready steps; the ids dispatched.

    With `keep_one`, the first ready step is taken but not sent: the caller runs it itself,
    saving a trip through the broker on the critical path.
    """
    environment = Environment.objects.filter(pk=environment_id).first()
    mode = mode_of(environment) if environment else None
    if mode is None:
        return []
    resources = list(environment.resources.all())
    if _settle_environment(environment, resources, mode):
        return []
    now = timezone.now()
    by_key = {resource.key: resource for resource in resources}
    ready = [r for r in resources if is_ready(r, by_key, mode) and is_due(r, now)]
    dispatched = [r.pk for r in ready if _mark_dispatched(r, now)]
    for resource_id in dispatched[1:] if keep_one else dispatched:
        current_app.send_task(RUN_STEP_TASK, args=[resource_id])
    return dispatched


def _mark_dispatched(resource: Resource, now) -> bool:
    """Take the step for a moment, so a concurrent or duplicate advance does not send it twice."""
    free = Q(lease_until__isnull=True) | Q(lease_until__lte=now)
    if resource.lease_until and resource.lease_until > now and resource.lease_owner not in ("", QUEUED):
        free |= Q(lease_owner=resource.lease_owner)  # is_due found its holder dead
    return bool(
        Resource.objects.filter(free, pk=resource.pk).update(
            lease_until=now + timedelta(seconds=dispatch_grace_seconds()), lease_owner=QUEUED
        )
    )


def _settle_environment(environment: Environment, resources: list[Resource], mode: str) -> bool:
    """Finish the operation when every step is finished, or fail it when one is blocked."""
    blocked = [r for r in resources if is_blocked(r, mode)]
    if not blocked and not all(is_finished(r, mode) for r in resources):
        return False
    with transaction.atomic():
        locked = Environment.objects.select_for_update().select_related("owner").get(pk=environment.pk)
        if mode_of(locked) != mode:
            return True  # someone settled it (or the user changed course) meanwhile
        # Decide from the steps as they are now, under the lock: a retry or destroy may have reset them.
        resources = list(locked.resources.all())
        blocked = [r for r in resources if is_blocked(r, mode)]
        if not blocked and not all(is_finished(r, mode) for r in resources):
            return False
        if blocked:
            outcomes.environment_failed(locked, blocked[0], building=mode == BUILD)
        else:
            outcomes.environment_finished(locked, building=mode == BUILD)
    return True


# --- run_step ---------------------------------------------------------------------------------------


@dataclass
class Claim:
    resource: Resource
    environment: Environment
    deps: dict[str, Resource]
    mode: str
    owner: str


class LeaseLost(Exception):
    """Another worker took the step over (our lease expired): stop without writing."""


def run_step(resource_id: int, *, chain: bool = True) -> None:
    """Claim one step, run it against AWS, record the outcome and schedule what follows.

    When the step finishes, one of the steps it unblocked runs right here (`chain`, one level
    deep so a task stays far shorter than its lease); the others go out as messages.
    """
    claim = _claim(resource_id)
    if claim is None:
        return
    lost_calls = calls.unanswered_intents(claim.environment.pk, claim.resource.key)
    try:
        outcome = _execute(claim)
        follow_up = _record_outcome(claim, outcome, chain=chain)
    except LeaseLost:
        log.warning("lost the lease on %s; another worker has it", claim.resource)
        return
    if lost_calls:
        # What this run found (adopted by tag, described) is the answer the dead worker never wrote.
        calls.intents_resolve(lost_calls, claim.resource)
    follow_up()


def _new_owner() -> str:
    return liveness.lease_owner_name()


def _queue_if_due(resource_id: int, now) -> None:
    """A message for a step that is due (a poll's or a retry's countdown ran out): the step joins
    the queued ones, and this turn goes to whichever of them has waited longest."""
    resource = Resource.objects.select_related("environment").filter(pk=resource_id).first()
    mode = mode_of(resource.environment) if resource else None
    if mode is None or resource.lease_owner == QUEUED or not is_due(resource, now + timedelta(seconds=0.5)):
        return
    if is_ready(resource, {r.key: r for r in resource.environment.resources.all()}, mode):
        _mark_dispatched(resource, now)


def _oldest_queued() -> Resource | None:
    """The queued step whose environment has waited longest, locked; a step another worker is
    claiming is skipped. A message is a turn, not a claim on its own step: every queued step has
    one message on its way, so each is taken, oldest first, whatever order the broker keeps."""
    turn = Case(
        When(
            environment__state=EnvironmentState.DESTROYING,
            then=F("environment__state_changed_at") - timedelta(seconds=teardown_head_start_seconds()),
        ),
        default=F("environment__state_changed_at"),
    )
    return (
        Resource.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("environment", "environment__account")
        .filter(lease_owner=QUEUED, environment__state__in=ENVIRONMENT_ACTIVE_STATES)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=timezone.now()))
        .annotate(turn=turn)
        .order_by("turn", "environment_id", "pk")
        .first()
    )


def _claim(resource_id: int) -> Claim | None:
    now = timezone.now()
    _queue_if_due(resource_id, now)
    with transaction.atomic():
        resource = _oldest_queued()
        if resource is None:
            return None  # every queued step is taken (a duplicate message, or others were quicker)
        environment = resource.environment
        mode = mode_of(environment)
        siblings = {r.key: r for r in environment.resources.all()}
        siblings[resource.key] = resource
        if mode is None or not is_ready(resource, siblings, mode):
            # Not runnable after all (its environment changed course): not queued any more, so it
            # cannot hold the head of the line; advance queues it again when it is.
            Resource.objects.filter(pk=resource.pk, lease_owner=QUEUED).update(lease_owner="", lease_until=None)
            return None
        operation = environment.cause_event_id
        if resource.progress.get("phase") != mode or resource.progress.get("operation") != operation:
            # A new build, retry or teardown: counters and waits of the previous one do not carry over.
            kept = {k: v for k, v in resource.progress.items() if k not in PER_OPERATION_PROGRESS}
            resource.progress = {**kept, "phase": mode, "operation": operation}
            resource.started_at, resource.finished_at = now, None
        resource.attempts += 1
        # The poison guard counts claims that never recorded an outcome (a crash each time); every
        # recorded outcome, a poll's Wait included, sets it back to 0. Errors have their own cap.
        unfinished = resource.progress.get("unfinished_claims", 0) + 1
        if unfinished > max_attempts():
            _give_up(resource, mode, now, unfinished - 1)
            transaction.on_commit(lambda: current_app.send_task(ADVANCE_TASK, args=[environment.pk]))
            return None
        resource.progress["unfinished_claims"] = unfinished
        resource.started_at = resource.started_at or now
        resource.state = ResourceState.CREATING if mode == BUILD else ResourceState.DELETING
        resource.lease_owner = _new_owner()
        resource.lease_until = now + timedelta(seconds=lease_seconds())
        resource.save()
    deps = {key: siblings[key] for key in resource.depends_on}
    return Claim(resource=resource, environment=environment, deps=deps, mode=mode, owner=resource.lease_owner)


def _give_up(resource: Resource, mode: str, now, unfinished: int) -> None:
    resource.state = ResourceState.FAILED
    resource.last_error = (
        f"Gave up after {unfinished} attempts without finishing (each ended without recording an outcome: "
        "a step that keeps crashing its worker); see the worker logs."
    )
    resource.last_error_code = "TooManyAttempts"
    resource.progress = {**resource.progress, "phase": mode}
    resource.finished_at = now
    resource.lease_until = None
    resource.lease_owner = ""
    resource.save()


def _checkpoint(claim: Claim):
    """Persist fields of the claimed step at once (and extend the lease); refuse after losing it."""

    def save(**fields) -> None:
        fields["lease_until"] = timezone.now() + timedelta(seconds=lease_seconds())
        updated = Resource.objects.filter(pk=claim.resource.pk, lease_owner=claim.owner).update(**fields)
        if not updated:
            raise LeaseLost(claim.resource.key)
        for name, value in fields.items():
            setattr(claim.resource, name, value)

    return save


def _call_context(claim: Claim) -> aws_client.CallContext:
    return aws_client.CallContext(
        environment_id=claim.environment.pk,
        resource_key=claim.resource.key,
        correlation_id=claim.environment.correlation_id,
        cause_event_id=claim.environment.cause_event_id,
        priority=turn_of(claim.environment),
    )


def _step_params(claim: Claim) -> dict:
    for step in claim.environment.plan.get("steps", []):
        if step["key"] == claim.resource.key:
            return step["params"]
    return {}


def _execute(claim: Claim):
    """Run the step's executor; an AWS failure becomes a `Verdict`, other errors a `Verdict` too."""
    region = claim.environment.region
    context = _call_context(claim)
    access = account_access(claim.environment.account)
    ctx = steps.StepContext(
        resource=claim.resource,
        environment=claim.environment,
        deps=claim.deps,
        params=_step_params(claim),
        ec2=aws_client.ec2_client(region, context=context, account=access),
        ssm_factory=lambda: aws_client.ssm_client(region, context=context, account=access),
        checkpoint=_checkpoint(claim),
        poll_seconds=poll_seconds(),
        grace_seconds=grace_seconds(),
        wait_limit_seconds=wait_limit_seconds(),
    )
    executor = (steps.BUILD if claim.mode == BUILD else steps.TEARDOWN)[claim.resource.kind]
    try:
        return executor(ctx)
    except steps.CreatePending as exc:
        return steps.Wait(poll_seconds(), str(exc))
    except steps.StepFailed as exc:
        return Verdict(Action.FATAL, exc.code, str(exc))
    except aws_client.AwsError as exc:
        return classify(exc, teardown=claim.mode == TEARDOWN, recently_created=ctx.recently_created())
    except LeaseLost:
        raise
    except Exception as exc:
        # A bug or an outage (database, time limit): retried with backoff, then capped like AWS errors.
        log.exception("step %s failed unexpectedly", claim.resource)
        return Verdict(Action.RETRY, type(exc).__name__, str(exc) or type(exc).__name__)


def _backoff(errors: int) -> float:
    """1, 2, 4 ... 30 s with jitter, so a burst of throttled steps does not come back in step."""
    return min(2.0 ** max(errors - 1, 0), 30.0) * random.uniform(0.6, 1.0)


def _record_outcome(claim: Claim, outcome, *, chain: bool = False):
    """Write the outcome under the lease; return what to do once it is committed."""
    resource = claim.resource
    now = timezone.now()
    fields: dict = {"lease_until": None, "lease_owner": ""}
    progress = dict(resource.progress)
    progress["unfinished_claims"] = 0  # this claim finished: it was no crash
    delay = None
    if isinstance(outcome, steps.Done):
        fields |= {
            "state": ResourceState.READY if claim.mode == BUILD else ResourceState.DELETED,
            "finished_at": now,
            "next_attempt_at": None,
            "last_error": "",
            "last_error_code": "",
        }
        progress.pop("waiting", None)
        progress["errors"] = 0
        if claim.mode == BUILD:
            fields |= {"described": outcome.described, "described_at": now, "drift": ""}
        else:
            fields["drift"] = ""  # gone as intended; `described` stays as the record of what it was
    elif isinstance(outcome, steps.Wait):
        delay = outcome.seconds
        progress["waiting"] = outcome.reason
        if outcome.described is not None:
            fields |= {"described": outcome.described, "described_at": now}
    else:
        delay, failure = _retry_delay(outcome, progress)
        fields |= {"last_error": outcome.message[:2000], "last_error_code": outcome.code[:64]}
        if failure:
            fields |= {"state": ResourceState.FAILED, "finished_at": now, "next_attempt_at": None}
            delay = None
        progress["waiting"] = f"retrying after {outcome.code}" if delay is not None else ""
    if delay is not None:
        fields["next_attempt_at"] = now + timedelta(seconds=delay)
        if delay <= short_wait_seconds():
            # In line at once, due when the wait ends: its own countdown message sits behind every
            # message sent meanwhile, and any turn that comes after the wait may take it.
            fields |= {"lease_owner": QUEUED, "lease_until": fields["next_attempt_at"] + timedelta(seconds=dispatch_grace_seconds())}
    fields["progress"] = progress
    updated = Resource.objects.filter(pk=resource.pk, lease_owner=claim.owner).update(**fields)
    if not updated:
        raise LeaseLost(resource.key)
    if "described_at" in fields:
        # A description landed: what the page shows of the network is computed now, not on read.
        network_view.network_view_update(environment_id=claim.environment.pk)
    return _follow_up(claim, delay, chain=chain)


def _retry_delay(verdict: Verdict, progress: dict) -> tuple[float, bool]:
    """(seconds until the next attempt, whether the step has failed for good)."""
    if verdict.action == Action.FATAL:
        if quota_hint(verdict.code):
            progress["hint"] = quota_hint(verdict.code)
        return 0, True
    if verdict.action == Action.CAPACITY:
        progress["capacity_attempts"] = progress.get("capacity_attempts", 0) + 1
        if progress["capacity_attempts"] >= capacity_max_attempts():
            progress["hint"] = CAPACITY_HINT
            return 0, True
        return capacity_retry_seconds(), False
    progress["errors"] = progress.get("errors", 0) + 1
    if progress["errors"] >= max_errors():
        progress["hint"] = (
            f"AWS kept failing this step ({progress['errors']} errors in a row). Retry later, or destroy the environment."
        )
        return 0, True
    return _backoff(progress["errors"]), False


def _follow_up(claim: Claim, delay: float | None, *, chain: bool):
    environment_id, resource_id = claim.environment.pk, claim.resource.pk

    def follow_up() -> None:
        if delay is None:
            unblocked = advance(environment_id, keep_one=chain)
            if chain and unblocked:
                run_step(unblocked[0], chain=False)
        elif delay <= short_wait_seconds():
            current_app.send_task(RUN_STEP_TASK, args=[resource_id], countdown=max(delay, 0))
        # Longer waits: `next_attempt_at` is set and the reconciler dispatches the step when due.

    return follow_up


# --- reconcile --------------------------------------------------------------------------------------


def reconcile() -> int:
    """Re-drive every environment the engine still has work for; the number advanced."""
    environment_ids = list(
        Environment.objects.filter(state__in=ENVIRONMENT_ACTIVE_STATES).values_list("pk", flat=True)
    )
    for environment_id in environment_ids:
        advance(environment_id)
    return len(environment_ids)
