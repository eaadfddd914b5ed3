"""How an operation (build, retry, teardown) ends for an environment: its state, audit row, notification.

The engine decides *that* an operation finished or failed; this module writes what follows.
"""

from django.utils import timezone

from audit.choices import Source
from audit.services import record
from environments.choices import EnvironmentState
from environments.models import Environment, Resource
from environments.services import environment_transition
from notify import services as notifications


def step_title(environment: Environment, key: str) -> str:
    titles = {step["key"]: step["title"] for step in environment.plan.get("steps", [])}
    return titles.get(key, key)


def environment_finished(environment: Environment, *, building: bool) -> None:
    """The build or teardown finished: the new state, its audit row, the owner told."""
    now = timezone.now()
    target = EnvironmentState.READY if building else EnvironmentState.DESTROYED
    previous = environment_transition(environment, target)
    if building:
        environment.ready_at = now
        message = f"{environment} is ready."
    else:
        environment.destroyed_at = now
        environment.orphans = []  # the teardown's inventory by tag found nothing left
        message = f"{environment} is destroyed; nothing of it is left in AWS."
    environment.save()
    _record(environment, f"environment.{target}", previous)
    notifications.notify(
        users=[environment.owner],
        verb=f"environment.{target}",
        team=environment.team,
        message=message,
        link=f"/environments/{environment.pk}/",
    )


def environment_failed(environment: Environment, resource: Resource, *, building: bool) -> None:
    """A step failed for good: the operation fails with that step's reason and a hint."""
    target = EnvironmentState.FAILED if building else EnvironmentState.DESTROY_FAILED
    previous = environment_transition(environment, target)
    environment.failure_reason = f"{step_title(environment, resource.key)}: {resource.last_error}"
    environment.failure_code = resource.last_error_code
    environment.failure_hint = resource.progress.get("hint") or (
        "Retry, or destroy the environment."
        if building
        else "Retry the teardown; if it keeps failing, ask an admin."
    )
    environment.save()
    _record(
        environment,
        f"environment.{target}",
        previous,
        details={
            "step": resource.key,
            "code": resource.last_error_code,
            "reason": environment.failure_reason,
        },
    )
    notifications.notify(
        users=[environment.owner],
        verb=f"environment.{target}",
        team=environment.team,
        message=f"{environment} {'failed' if building else 'could not be destroyed'}: {environment.failure_reason}"[
            :500
        ],
        link=f"/environments/{environment.pk}/",
    )


def _record(
    environment: Environment, action: str, previous: str, details: dict | None = None
) -> None:
    record(
        actor=None,
        action=action,
        target=environment,
        source=Source.WORKER,
        before={"state": previous},
        after={"state": environment.state},
        correlation_id=environment.correlation_id,
        details={"cause_event_id": environment.cause_event_id, **(details or {})},
    )
