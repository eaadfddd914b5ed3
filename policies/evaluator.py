"""Approval policies and team limits, evaluated: pure (no Django), plain data in, plain data out.

A policy is data: `{"version", "approval_window_hours", "default_approvals", "rules": [{"name",
"approvals_required", "min_hourly_usd", "min_ttl_hours"}]}`. A rule applies when the request
reaches any of its thresholds (an unknown cost reaches a cost threshold: what is not priced is not
assumed cheap); of the rules that apply, the one asking the most approvals wins (the first on a
tie); none applying leaves the default. Four eyes cannot be switched off: at least one approval,
always by a person, and the requester's own approval never counts.

Team limits are data too: `{"monthly_budget_usd", "max_live_environments", "instance_types",
"max_ttl_hours"}` (None or empty: no limit).
"""

from decimal import Decimal

FOUR_EYES_MINIMUM = 1
MAX_APPROVALS = 10
DEFAULT_POLICY = {"version": 0, "approval_window_hours": None, "default_approvals": 1, "rules": []}
DEFAULT_RULE = "default"


def _usd(value) -> str:
    return f"${Decimal(str(value)).quantize(Decimal('0.01'))}"


def policy_errors(policy: dict) -> list[str]:
    """What is wrong with a policy document; empty when it can be saved."""
    errors: list[str] = []
    window = policy.get("approval_window_hours")
    if window is not None and (not isinstance(window, int) or isinstance(window, bool) or window < 1):
        errors.append("approval_window_hours must be a whole number of hours, at least 1, or empty.")
    default = policy.get("default_approvals", 1)
    if not isinstance(default, int) or isinstance(default, bool) or not FOUR_EYES_MINIMUM <= default <= MAX_APPROVALS:
        errors.append(f"default_approvals must be between {FOUR_EYES_MINIMUM} and {MAX_APPROVALS}: four eyes cannot be switched off.")
    rules = policy.get("rules", [])
    if not isinstance(rules, list):
        return [*errors, "rules must be a list."]
    names: set[str] = set()
    for number, rule in enumerate(rules, 1):
        if not isinstance(rule, dict):
            errors.append(f"Rule {number} must be an object.")
            continue
        name = rule.get("name")
        if not isinstance(name, str) or not name.strip() or name == DEFAULT_RULE or name in names:
            errors.append(f"Rule {number} needs a unique name (not “{DEFAULT_RULE}”).")
        names.add(name)
        required = rule.get("approvals_required")
        if not isinstance(required, int) or isinstance(required, bool) or not FOUR_EYES_MINIMUM <= required <= MAX_APPROVALS:
            errors.append(f"Rule {number}: approvals_required must be between {FOUR_EYES_MINIMUM} and {MAX_APPROVALS}.")
        cost, ttl = rule.get("min_hourly_usd"), rule.get("min_ttl_hours")
        if cost is None and ttl is None:
            errors.append(f"Rule {number} needs a threshold: min_hourly_usd or min_ttl_hours.")
        if cost is not None and (isinstance(cost, bool) or not isinstance(cost, int | float | str) or Decimal(str(cost)) < 0):
            errors.append(f"Rule {number}: min_hourly_usd must be a number, at least 0.")
        if ttl is not None and (not isinstance(ttl, int) or isinstance(ttl, bool) or ttl < 1):
            errors.append(f"Rule {number}: min_ttl_hours must be a whole number, at least 1.")
        unknown = set(rule) - {"name", "approvals_required", "min_hourly_usd", "min_ttl_hours"}
        if unknown:
            errors.append(f"Rule {number}: unknown fields {', '.join(sorted(unknown))}.")
    return errors


def _reasons(rule: dict, *, hourly_cost: float | None, ttl_hours: int) -> list[str]:
    reasons = []
    threshold = rule.get("min_hourly_usd")
    if threshold is not None:
        if hourly_cost is None:
            reasons.append(f"no price for this plan: the cost threshold {_usd(threshold)}/h applies")
        elif Decimal(str(hourly_cost)) >= Decimal(str(threshold)):
            reasons.append(f"estimated {_usd(hourly_cost)}/h ≥ {_usd(threshold)}/h")
    if rule.get("min_ttl_hours") is not None and ttl_hours >= rule["min_ttl_hours"]:
        reasons.append(f"expiry after {ttl_hours} h ≥ {rule['min_ttl_hours']} h")
    return reasons


def evaluate(policy: dict | None, *, hourly_cost: float | None, ttl_hours: int) -> dict:
    """The verdict for one request: `{"rule", "approvals_required", "reasons", "window_hours", "version"}`."""
    policy = policy or DEFAULT_POLICY
    chosen_rule, chosen_required, chosen_reasons = None, 0, []
    for rule in policy.get("rules", []):
        reasons = _reasons(rule, hourly_cost=hourly_cost, ttl_hours=ttl_hours)
        if reasons and rule["approvals_required"] > chosen_required:
            chosen_rule, chosen_required, chosen_reasons = rule, rule["approvals_required"], reasons
    default = max(FOUR_EYES_MINIMUM, policy.get("default_approvals", 1))
    if chosen_rule is None or chosen_required <= default:
        name, required = DEFAULT_RULE, default
        reasons = ["no rule's threshold reached"] if chosen_rule is None else [f"rule “{chosen_rule['name']}” asks no more than the default"]
    else:
        name, required, reasons = chosen_rule["name"], chosen_required, chosen_reasons
    return {
        "rule": name,
        "approvals_required": max(FOUR_EYES_MINIMUM, required),
        "reasons": reasons,
        "window_hours": policy.get("approval_window_hours"),
        "version": policy.get("version", 0),
    }


def escalate(stored: dict, current: dict) -> dict:
    """At approval the policy is evaluated again (prices move): the stricter verdict stands."""
    return current if current["approvals_required"] > stored["approvals_required"] else stored


def approval_progress(*, required: int, approver_ids: list, requester_id) -> dict:
    """How far the approvals are: distinct approvers, the requester never counted."""
    distinct = list(dict.fromkeys(approver for approver in approver_ids if approver is not None and approver != requester_id))
    needed = max(FOUR_EYES_MINIMUM, required)
    return {"approvals": len(distinct), "remaining": max(needed - len(distinct), 0), "complete": len(distinct) >= needed}


def limit_errors(
    limits: dict | None,
    *,
    team: str,
    instance_type: str,
    ttl_hours: int,
    monthly_cost: float | None,
    committed_monthly: float,
    live_environments: int,
) -> dict[str, list[str]]:
    """What a request breaks of its team's limits, as {field: [messages with the numbers]}.

    `committed_monthly` is the estimated monthly spend of the team's live and approved
    environments; `live_environments` how many it has.
    """
    limits = limits or {}
    errors: dict[str, list[str]] = {}
    allowed = limits.get("instance_types") or []
    if allowed and instance_type not in allowed:
        errors.setdefault("instance_type", []).append(
            f"Team {team} allows only these instance types: {', '.join(allowed)} (asked: {instance_type})."
        )
    max_ttl = limits.get("max_ttl_hours")
    if max_ttl is not None and ttl_hours > max_ttl:
        errors.setdefault("ttl_hours", []).append(f"Team {team} allows at most {max_ttl} hours (asked: {ttl_hours}).")
    max_live = limits.get("max_live_environments")
    if max_live is not None and live_environments + 1 > max_live:
        errors.setdefault("__all__", []).append(
            f"Team {team} may have at most {max_live} live environments; it has {live_environments}."
        )
    budget = limits.get("monthly_budget_usd")
    if budget is not None:
        budget = Decimal(str(budget))
        committed = Decimal(str(committed_monthly))
        if monthly_cost is None:
            errors.setdefault("__all__", []).append(
                f"Team {team} has a monthly budget of {_usd(budget)} and this plan has no price, so it cannot be checked against it."
            )
        else:
            total = committed + Decimal(str(monthly_cost))
            if total > budget:
                errors.setdefault("__all__", []).append(
                    f"Over team {team}'s monthly budget of {_usd(budget)}: its live and approved environments are estimated "
                    f"at {_usd(committed)} a month and this request adds {_usd(monthly_cost)} (total {_usd(total)}, "
                    f"{_usd(total - budget)} over)."
                )
    return errors
