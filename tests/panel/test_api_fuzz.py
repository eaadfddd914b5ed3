"""Schemathesis against the live API: every operation of /api/openapi.json, positive and negative
inputs, a minimum number of examples each (more while within BUDGET_SECONDS), with a bearer token.
Expected: no 5xx, every answer's status code documented, every body as documented (content type
and schema).

The counts are printed (run with -s to see them) and written to
test-artifacts/api-fuzz.json, for the record of the run.
"""

import json
import time
from collections import Counter
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import api_token_issue
from environments import services
from tests.conftest import origin_of

EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 8}  # per operation, within the budget
MINIMUM = {GenerationMode.POSITIVE: 8, GenerationMode.NEGATIVE: 4}  # per operation, always
BUDGET_SECONDS = 40  # the time cap: past it, the remaining operations get their minimum only
CHECKS = {
    "server_errors": not_a_server_error,
    "undocumented_status": status_code_conformance,
    "content_type_violations": content_type_conformance,
    "schema_violations": response_schema_conformance,
}
CATEGORY = {check.__name__: name for name, check in CHECKS.items()}
ARTIFACT = Path(__file__).resolve().parents[2] / "test-artifacts" / "api-fuzz.json"


def _objects(alice, bob, zone, team) -> dict[str, list[int]]:
    """Real objects for the path parameters to hit now and then (random ids are mostly 404s)."""
    pending = services.environment_request_create(
        origin=origin_of(alice), team=team, zone=zone, name="fuzz-pending", instance_type="t3.medium"
    )
    approved = services.environment_request_create(
        origin=origin_of(alice), team=team, zone=zone, name="fuzz-env", instance_type="t3.medium"
    )
    environment = services.environment_request_approve(
        origin=origin_of(bob), request_id=approved.pk, plan_hash=approved.plan_hash
    )
    return {"request_id": [pending.pk, approved.pk], "environment_id": [environment.pk], "group": [zone.group_name]}


def _with_known_objects(strategy, known: dict[str, list]):
    """Cases whose path parameters are, about half the time, ids of objects that exist."""

    @st.composite
    def cases(draw):
        case = draw(strategy)
        for name, values in known.items():
            if case.path_parameters and name in case.path_parameters and draw(st.booleans()):
                case.path_parameters[name] = draw(st.sampled_from(values))
        return case

    return cases()


def _fuzz(operation, mode, examples, known, base_url, headers, cases, statuses, failures) -> None:
    """`examples` generated cases of one operation, each sent and put through every check."""

    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @given(case=_with_known_objects(operation.as_strategy(generation_mode=mode), known))
    def run(case):
        # A connection per case: keep-alive against the test server meets delayed ACKs (40 ms a case).
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        cases[(operation.label, mode.value)] += 1
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=list(CHECKS.values()), headers=headers)
        except (Failure, FailureGroup) as exc:
            for failure in exc.exceptions if isinstance(exc, FailureGroup) else [exc]:
                name = CATEGORY.get(failure.checks[0] if failure.checks else "", "schema_violations")
                failures[name].append(
                    f"{operation.label} [{mode.value}] → {response.status_code}: {failure.title}: {failure.message[:400]}\n"
                    f"    {case.as_curl_command(headers=headers)[:400]}"
                )

    run()


@pytest.mark.timeout(240)  # a hang, not a slow machine, fails here (BUDGET_SECONDS is the cap)
@pytest.mark.django_db(transaction=True)
def test_every_api_operation_survives_generated_input(live_server, alice, bob, carol, zone, team, published_tasks):
    known = _objects(alice, bob, zone, team)
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/openapi.json")
    tokens = {"bob": api_token_issue(user=bob), "carol": api_token_issue(user=carol)}
    cases: Counter = Counter()
    statuses: Counter = Counter()
    failures: dict[str, list[str]] = {name: [] for name in CHECKS}
    operations = []
    capped = 0
    started = time.monotonic()

    for result in schema.get_all_operations():
        operation = result.ok()
        operations.append(operation.label)
        # The approver sees most; the auditor is the one who may export the audit log.
        token = tokens["carol" if operation.path.startswith("/api/audit/") else "bob"]
        headers = {"Authorization": f"Bearer {token}"}
        over_budget = time.monotonic() - started > BUDGET_SECONDS
        capped += over_budget
        for mode, examples in EXAMPLES.items():
            examples = MINIMUM[mode] if over_budget else examples
            _fuzz(operation, mode, examples, known, live_server.url, headers, cases, statuses, failures)

    elapsed = time.monotonic() - started
    total = sum(cases.values())
    summary = {
        "operations": len(operations),
        "cases": total,
        "seconds": round(elapsed, 1),
        "operations_at_minimum": capped,
        "status_codes": {str(code): count for code, count in sorted(statuses.items())},
        **{name: len(found) for name, found in failures.items()},
    }
    ARTIFACT.parent.mkdir(exist_ok=True)
    per_operation = {f"{label} [{mode}]": count for (label, mode), count in sorted(cases.items())}
    ARTIFACT.write_text(json.dumps({**summary, "per_operation": per_operation, "failures": failures}, indent=2))
    print(f"\nAPI fuzz: {json.dumps(summary)}")

    assert len(operations) >= 16, operations
    for label in operations:  # every operation, a minimum number of examples each, in both modes
        for mode, minimum in MINIMUM.items():
            assert cases[(label, mode.value)] >= minimum, (label, mode.value, cases[(label, mode.value)])
    assert {name: found for name, found in failures.items() if found} == {}
