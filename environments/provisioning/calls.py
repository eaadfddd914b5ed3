"""Write-ahead AWS call records: find the intents whose answer was never recorded, and close them.

`aws.client.CallRecorder` commits an `intent` row before every mutating call and an outcome row
after it. A step runs on one worker at a time (its lease), so its calls follow each other: an
intent not followed by an outcome of the same operation, before the step's next intent or at the
end, was sent by a worker that stopped (kill -9, database lost) before writing the answer. The
next run of the step resolves it (adopts by tag, describes) and then records what it found.
"""

import re

from audit.choices import Source
from audit.models import AwsCall
from audit.services import aws_call_record, record
from aws.client import INTENT, RESOLVED
from environments.models import Resource

_RESOLVED_INTENT = re.compile(r"^intent #(\d+):")


def unanswered_intents(environment_id: int, resource_key: str) -> list[AwsCall]:
    rows = list(
        AwsCall.objects.filter(environment_id=environment_id, resource_key=resource_key, mutating=True).order_by("id")
    )
    resolved = {int(match[1]) for row in rows if (match := _RESOLVED_INTENT.match(row.error_message))}
    unanswered, pending = [], None
    for row in rows:
        if row.outcome == RESOLVED:
            continue
        if row.outcome == INTENT:
            if pending is not None:
                unanswered.append(pending)
            pending = row
        elif pending is not None and row.operation == pending.operation:
            pending = None
    if pending is not None:
        unanswered.append(pending)
    return [row for row in unanswered if row.pk not in resolved]


def intents_resolve(intents: list[AwsCall], resource: Resource) -> None:
    """Close each unanswered intent with what the step's run found in AWS (call log and audit)."""
    resource.refresh_from_db(fields=["state", "aws_id"])
    found = f"{resource.key} is {resource.state}, AWS id {resource.aws_id or 'none'}"
    for intent in intents:
        message = f"intent #{intent.pk}: no answer was recorded (its worker stopped); on recovery {found}"
        aws_call_record(
            service=intent.service,
            region=intent.region,
            operation=intent.operation,
            params=intent.params,
            mutating=True,
            outcome=RESOLVED,
            error_message=message,
            duration_ms=0,
            environment_id=intent.environment_id,
            resource_key=intent.resource_key,
            correlation_id=intent.correlation_id,
            cause_event_id=intent.cause_event_id,
        )
        record(
            actor=None,
            action=f"aws.{intent.operation}",
            target=None,
            source=Source.WORKER,
            target_repr=intent.resource_key,
            environment_id=intent.environment_id,
            correlation_id=intent.correlation_id,
            details={"region": intent.region, "params": intent.params, "outcome": RESOLVED, "intent_id": intent.pk,
                     "found": found, "cause_event_id": intent.cause_event_id},
        )  # fmt: skip
