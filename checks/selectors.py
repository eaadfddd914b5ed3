"""What the environment page shows of the checks: the latest run, cell by cell."""

from environments.choices import EnvironmentState
from netmodel.traffic import PROTOCOLS

from .choices import VERDICT_BADGES, RunState
from .permissions import can_run_checks
from .planning import cell_verdicts
from .services import latest_run

VERDICT_LABELS = {"verified": "verified", "contradicted": "contradicted", "not_verifiable": "not verifiable"}


def check_panel_context(environment, user) -> dict:
    run = latest_run(environment)
    rows = []
    if run is not None and run.items:
        verdicts = cell_verdicts(run.items)
        by_pair: dict[tuple[str, str], dict] = {}
        for (source, destination, protocol), cell in verdicts.items():
            probes = [
                item
                for item in run.items
                if (item["source"], item["destination"], item["protocol"]) == (source, destination, protocol)
            ]
            by_pair.setdefault((source, destination), {})[protocol] = {
                "verdict": cell["verdict"],
                "label": VERDICT_LABELS[cell["verdict"]],
                "badge": VERDICT_BADGES[cell["verdict"]],
                "why": cell["why"],
                "predicted": "allowed" if any(p["expected"] for p in probes) else "denied",
                "probes": probes,
            }
        rows = [
            {"source": source, "destination": destination, "cells": [cells.get(p) for p in PROTOCOLS]}
            for (source, destination), cells in by_pair.items()
        ]
    return {
        "environment": environment,
        "run": run,
        "rows": rows,
        "protocols": PROTOCOLS,
        "running": run is not None and run.state == RunState.RUNNING,
        "seconds": round((run.finished_at - run.started_at).total_seconds(), 1)
        if run and run.finished_at
        else None,
        "can_run_checks": environment.state == EnvironmentState.READY and can_run_checks(user, environment),
    }
