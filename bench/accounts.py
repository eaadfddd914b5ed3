"""The multi-account scale run of `bench/provision.py --accounts N` (N >= 2). Prints; asserts nothing.

N customer accounts, each made as a customer makes it (the role the panel assumes, through the
sandbox's `POST /_sandbox/accounts`), registered through `clouds.services.account_create` and
bound to a team of its own, alternately in us-west-2 (San Francisco zone) and us-east-1 (Boston
zone); each account's zone group opted in and its quotas raised through the control path. The
environments are spread round-robin over the accounts. EC2's buckets are per account and Region,
so N accounts may go N times faster than one: the run reports each account's throttle bound, the
wall against the largest, and then the same batch in one account (the baseline) and the ratio.
"""

import time

from bench import provision

# (Region, zone group, zone): two Regions, the accounts alternate between them.
PLACES = [
    ("us-west-2", "us-west-2-wl1", "us-west-2-wl1-sfo-wlz-1"),
    ("us-east-1", "us-east-1-wl1", "us-east-1-wl1-bos-wlz-1"),
]
ROLE = "wlpanel-access"
FIRST_ACCOUNT = 210_000_000_001  # customer account ids: 210000000001, 210000000002, ...
RECONCILE_SECONDS = 15  # what beat does in production (no beat runs in the benchmark)


def account_id_of(number: int) -> str:
    return str(FIRST_ACCOUNT + number)


def customer_account(sandbox, number: int, people: dict, environments: int) -> dict:
    """One customer account: role made by the customer, registered by an operator at the shell,
    bound to its own team, its zone group opt-in asked, its quotas raised."""
    from accounts.choices import TeamRole
    from accounts.models import Team
    from audit.choices import Source
    from audit.context import Origin
    from clouds.services import account_create
    from environments.provisioning import zones

    region, group, zone_name = PLACES[number % len(PLACES)]
    account_id = account_id_of(number)
    external_id = f"bench-{account_id}"
    role_arn = sandbox.control("POST", "accounts", {"account_id": account_id, "role_name": ROLE, "external_id": external_id})[
        "role_arn"
    ]
    team = Team.objects.create(slug=f"bench-{number}", name=f"Benchmark team {number}", max_ttl_hours=72)
    team.memberships.create(user=people["alice"], role=TeamRole.MEMBER)
    team.memberships.create(user=people["bob"], role=TeamRole.APPROVER)
    origin = Origin.system(source=Source.SHELL)
    account = account_create(
        origin=origin,
        account_id=account_id,
        name=f"bench-{number}",
        role_arn=role_arn,
        external_id=external_id,
        regions=[region],
        teams=[team],
        default_for=[team],
    )
    raised = raise_account_quotas(sandbox, account_id, region, environments)
    zones.zones_refresh_region(region, origin=origin, account=account)
    zones.zone_group_opt_in(origin=origin, group=group, account=account)
    return {"number": number, "account": account, "team": team, "region": region, "group": group, "zone_name": zone_name, "raised": raised}


def raise_account_quotas(sandbox, account_id: str, region: str, environments: int) -> str:
    """What `environments` builds need in one account and Region, asked through the control path."""
    needed = {
        "L-F678F1CE": environments + 1,  # VPCs per Region (+ the default VPC)
        "L-A4707A72": environments + 1,  # internet gateways per Region (+ the default VPC's)
        "L-CARRIER-IPS": environments,  # Carrier IPs per border group (sandbox setting)
        "L-1216C47A": environments * provision.ENVIRONMENT_VCPUS,  # standard vCPUs (bastion + workload)
    }
    applied = {
        quota["quota_code"]: quota["applied"]
        for quota in sandbox.control("GET", f"quotas?account={account_id}&region={region}")["quotas"]
    }
    raised = {code: value for code, value in needed.items() if value > applied.get(code, 0)}
    for code, value in raised.items():
        sandbox.control("POST", "quotas", {"quota_code": code, "value": value, "account": account_id, "region": region})
    return ", ".join(f"{code} {applied.get(code, 0):g} -> {value}" for code, value in raised.items()) or "none needed"


def opted_in(places: list[dict]) -> None:
    """Follow every account's opt-in until AWS reports it (they were all asked at once)."""
    from audit.choices import Source
    from audit.context import Origin
    from environments.provisioning import zones

    for place in places:
        origin = Origin.system(source=Source.SHELL)
        zones.zone_group_opted_in_wait(group=place["group"], origin=origin, account=place["account"], timeout=60)
        place["zone"] = place["account"].zones.get(name=place["zone_name"])
        if not place["zone"].opted_in:
            raise RuntimeError(f"{place['group']} never reported opted-in in account {place['account'].account_id}")


def wait_until(ids: list[int], leaving: str, timeout: float) -> float:
    """Seconds until none of `ids` is in state `leaving` any more, re-driving every 15 s as beat does."""
    from environments.models import Environment
    from environments.provisioning import engine

    started = time.monotonic()
    reconciled = started
    while time.monotonic() - started < timeout:
        if not Environment.objects.filter(pk__in=ids, state=leaving).exists():
            break
        if time.monotonic() - reconciled > RECONCILE_SECONDS:
            engine.reconcile()
            reconciled = time.monotonic()
        time.sleep(0.25)
    return time.monotonic() - started


def build(label: str, places: list[dict], size: int, people: dict, timeout: float) -> dict:
    """`size` environments round-robin over `places`; approval to the last one settled."""
    from audit.choices import Source
    from audit.context import Origin
    from environments.services import environment_request_approve, environment_request_create

    requests = []
    for number in range(size):
        place = places[number % len(places)]
        request = environment_request_create(
            origin=Origin(user=people["alice"], source=Source.SHELL),
            team=place["team"],
            zone=place["zone"],
            name=f"{label}-{number}",
            instance_type="t3.medium",
        )
        requests.append((place, request))
    started = time.monotonic()
    for place, request in requests:
        environment = environment_request_approve(
            origin=Origin(user=people["bob"], source=Source.SHELL), request_id=request.pk, plan_hash=request.plan_hash
        )
        place.setdefault("ids", []).append(environment.pk)
    wait_until([pk for place in places for pk in place["ids"]], "provisioning", timeout)
    wall = time.monotonic() - started
    ids = [pk for place in places for pk in place["ids"]]
    outcome = provision.builds_outcome(ids)
    return {
        "label": label,
        "size": size,
        "ids": ids,
        "wall": wall,
        "ready": outcome["ready"],
        "failed": outcome["failed"],
        "median": outcome["median"],
        "p90": outcome["p90"],
    }


def inventory(sandbox, account_id: str) -> list[dict]:
    return sandbox.control("GET", f"inventory?tag=wlpanel:environment&account={account_id}")["items"]


def duplicates(items: list[dict]) -> int:
    """Resources beyond the first carrying the same (environment, step) tags."""
    seen: dict[tuple[str, str], int] = {}
    for item in items:
        # An instance's volume and interface carry its step's tags too: one of each kind per step.
        key = (item["tags"].get("wlpanel:environment", "?"), item["tags"].get("wlpanel:resource", "?"), item["type"])
        seen[key] = seen.get(key, 0) + 1
    return sum(count - 1 for count in seen.values() if count > 1)


def assumed_roles(ids: list[int]) -> int:
    from audit.models import AwsCall

    return AwsCall.objects.filter(environment_id__in=ids, service="sts", operation="AssumeRole", outcome="ok").count()


def ratio(value: float, bound: float) -> str:
    return f"{value / bound:.2f}" if bound > 0 else "n/a (no bucket ran dry)"


def report(result: dict, places: list[dict], sandbox, table: dict) -> float:
    """Per account: its throttle bound; overall: wall, largest bound, time to ready, throttling."""
    throttled, attempts = sandbox.attempts()
    print(f"\n== {result['label']}: {result['size']} environments over {len(places)} account(s) ==")
    print(f"ready {result['ready']}/{result['size']}; failed: {result['failed'] or 'none'}")
    largest = 0.0
    for place in places:
        bound, binding = provision.throttle_bound(place["ids"], table, account_id=place["account"].account_id)
        largest = max(largest, bound)
        print(
            f"  account {place['account'].account_id} ({place['region']}, {place['zone_name']}): "
            f"{len(place['ids'])} environments, throttle bound {bound:6.1f} s ({binding})"
        )
    print(f"wall time                     {result['wall']:8.1f} s")
    print(f"largest per-account bound     {largest:8.1f} s   wall / largest bound {ratio(result['wall'], largest)}")
    print(
        f"time to ready (median/p90)    {result['median']:8.1f} / {result['p90']:.1f} s   "
        f"(/ largest bound: {ratio(result['median'], largest)} / {ratio(result['p90'], largest)})"
    )
    print(f"throttled attempts            {throttled:8d} of {attempts} ({100 * throttled / max(attempts, 1):.2f}%)")
    print(f"AssumeRole calls in the run   {assumed_roles(result['ids']):8d}")
    return largest


def teardown(places: list[dict], people: dict, sandbox, timeout: float) -> None:
    from audit.choices import Source
    from audit.context import Origin
    from environments.models import Environment
    from environments.services import environment_destroy

    ids = [pk for place in places for pk in place["ids"]]
    sandbox.control("DELETE", "calls")
    for environment_id in ids:
        environment_destroy(origin=Origin(user=people["alice"], source=Source.SHELL), environment_id=environment_id)
    wall = wait_until(ids, "destroying", timeout)
    throttled, attempts = sandbox.attempts()
    destroyed = Environment.objects.filter(pk__in=ids, state="destroyed").count()
    print(f"teardown: {destroyed}/{len(ids)} destroyed in {wall:.1f} s; throttled attempts {throttled} of {attempts}")
    for place in places:
        left = inventory(sandbox, place["account"].account_id)
        kinds = sorted({item["type"] for item in left})
        print(f"  account {place['account'].account_id}: {len(left)} resources left after teardown {kinds or ''}")


def run(args, sandbox, env: dict, people_tuple, log_dir) -> None:
    """`--accounts N`: the batch over N accounts, its teardown, then the same batch in one account."""
    from accounts.models import User

    people = {"alice": User.objects.get(username="alice"), "bob": User.objects.get(username="bob")}
    size, count = args.environments, args.accounts
    per_account = -(-size // count)
    print(f"\n{count} customer accounts, {size} environments round-robin ({per_account} per account at most)")
    places = [customer_account(sandbox, number, people, per_account) for number in range(count)]
    baseline = customer_account(sandbox, count, people, size)  # the single-account run's own account
    for place in [*places, baseline]:
        print(
            f"  account {place['account'].account_id} ({place['region']}): team {place['team'].slug}, "
            f"{place['group']} opt-in asked; quotas raised through the control path: {place['raised']}"
        )
    opted_in([*places, baseline])

    throttle = not args.no_throttle
    table = sandbox.throttle_table()
    workers = provision.start_warm_workers(env, args.concurrency, people_tuple, log_dir)
    try:
        sandbox.aws_model(throttle=throttle)
        multi = build(f"a{count}", places, size, people, timeout=max(300.0, size * 8.0))
        largest = report(multi, places, sandbox, table)
        counts = [duplicates(inventory(sandbox, place["account"].account_id)) for place in places]
        print(f"duplicates (resources beyond one of a kind per step, per account) {counts}: {sum(counts)}")
        teardown(places, people, sandbox, timeout=max(300.0, size * 8.0))

        sandbox.aws_model(throttle=throttle)
        single = build("a1", [baseline], size, people, timeout=max(600.0, size * 8.0))
        report(single, [baseline], sandbox, table)
        print(f"duplicates {duplicates(inventory(sandbox, baseline['account'].account_id))} (not torn down)")
    finally:
        workers.stop()
    print(
        f"\n{count} accounts against 1: wall {multi['wall']:.1f} s against {single['wall']:.1f} s, "
        f"ratio single / multi {single['wall'] / multi['wall']:.2f}; multi wall / largest per-account bound "
        f"{ratio(multi['wall'], largest)} (target <= 1.25)"
    )
