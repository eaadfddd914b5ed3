"""Provisioning benchmark: how close the engine gets to what AWS allows. Prints numbers; asserts nothing.

It starts its own sandbox (latency model of reliability.md C, instances pending `--pending` s,
EC2 throttling on), a fresh benchmark database (`wlpanel_bench`), its own Redis DB number and its
own worker processes, then builds batches of environments through the real services and reports:

- wall time per batch, and each environment's own build time;
- the critical-path lower bound from the latencies observed in the run (`plan.critical_path` with
  per-step durations: median observed latency of each call the step needs, plus the pending time
  for instances and the carrier gateway, which the strict sandbox keeps `pending` that long, as
  AWS does), and the ratio;
- the bound the throttle model sets (per token bucket: calls beyond the burst / refill rate, with
  the sandbox's bucket numbers), and each environment's time to ready (approval to ready: median
  and p90) against it: first come, first ready means the median well before the batch's end;
- throttled attempts (`RequestLimitExceeded` in the sandbox's call log) / all attempts;
- AWS calls per environment against the minimum the build needs;
- a baseline: the seed's steps as a plain sequential boto3 script with waiters polling at the
  engine's interval, against the same sandbox.

    .venv/bin/python bench/provision.py                       # 1, 10 and 100 environments
    .venv/bin/python bench/provision.py --sizes 1,10 --sweep 4,8,16 --pending 5
    .venv/bin/python bench/provision.py --accounts 4 --concurrency 32   # 100 over 4 accounts, then 1

`--accounts N` (N >= 2): `bench/accounts.py`; the environments spread over N customer accounts in
two Regions, each account's throttle bound, and the same batch in one account for the ratio.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SFO = "us-west-2-wl1-sfo-wlz-1"
GROUP = "us-west-2-wl1"
ENVIRONMENT_VCPUS = 4  # the bastion (t3.micro, 2 vCPUs) and the workload (t3.medium, 2 vCPUs)
# A queue of this run's own: workers left over from an interrupted run can never take its work.
QUEUE = f"wlpanel-bench-{os.getpid()}"
# The mutating calls one build needs at least (the seed's build, with a bastion).
MINIMUM_MUTATING = [
    "CreateVpc",
    "CreateSubnet",
    "CreateSubnet",
    "CreateInternetGateway",
    "AttachInternetGateway",
    "CreateRouteTable",
    "CreateRouteTable",
    "CreateRoute",
    "CreateRoute",
    "AssociateRouteTable",
    "AssociateRouteTable",
    "CreateSecurityGroup",
    "CreateSecurityGroup",
    "AuthorizeSecurityGroupIngress",
    "AuthorizeSecurityGroupIngress",
    "RunInstances",
    "RunInstances",
    "CreateCarrierGateway",
    "AllocateAddress",
    "AssociateAddress",
]


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,10,100", help="batch sizes (environments built at once)")
    parser.add_argument("--pending", type=float, default=5.0, help="instance pending-to-running seconds")
    parser.add_argument("--poll", type=float, default=1.0, help="engine (and baseline waiter) poll interval, s")
    parser.add_argument("--concurrency", type=int, default=8, help="prefork processes for the size runs")
    parser.add_argument("--sweep", default="4,8,16", help="concurrencies to compare on --sweep-size environments")
    parser.add_argument("--sweep-size", type=int, default=10)
    parser.add_argument("--redis-db", type=int, default=11, help="Redis DB number of the benchmark's broker")
    parser.add_argument("--database", default="wlpanel_bench")
    parser.add_argument("--budget", type=float, default=600.0, help="skip batches that would not fit, seconds")
    parser.add_argument("--no-throttle", action="store_true")
    parser.add_argument("--accounts", type=int, default=1, help="customer accounts the batch is spread over (>= 2: bench/accounts.py)")
    parser.add_argument("--environments", type=int, default=100, help="the batch size of an --accounts run")
    parser.add_argument(
        "--throttle-buckets",
        default="",
        help='the sandbox\'s bucket numbers instead of AWS\'s, JSON: \'{"mutating": {"size": 20, "refill_per_second": 3}}\'',
    )
    return parser.parse_args()


# --- Setup: database, sandbox, Django, workers -------------------------------------------------------


def recreate_database(name: str) -> str:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"postgres://postgres@127.0.0.1:5432/{name}"


def configure_environment(args, database_url: str, sandbox_url: str) -> dict:
    values = {
        "DJANGO_SETTINGS_MODULE": "wlpanel.settings",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{args.redis_db}",
        "WLPANEL_QUEUE": QUEUE,
        "WLPANEL_AWS_ENDPOINT": sandbox_url,
        "WLPANEL_CHECKS_AUTOMATIC": "0",  # the benchmark measures builds, not connectivity checks
        "WLPANEL_POLL_SECONDS": str(args.poll),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(values)
    return {**os.environ, **values}


class Sandbox:
    def __init__(self, pending: float):
        from sandbox.server import start

        self.server = start(host="127.0.0.1", port=0, pending_seconds=pending)
        self.url = self.server.url

    def control(self, method: str, path: str, body: dict | None = None) -> dict:
        import requests

        answer = requests.request(method, f"{self.url}/_sandbox/{path}", json=body, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def raise_quotas(self, environments: int) -> None:
        """Raise the quotas a run of `environments` needs through the control path, as a user asks
        AWS Support: the sandbox enforces AWS's default quotas (5 VPCs per Region, the default VPC
        included), which fit 4 environments. Nothing is torn down between batches."""
        needed = {
            "L-F678F1CE": environments + 1,  # VPCs per Region (+ the default VPC)
            "L-A4707A72": environments + 1,  # internet gateways per Region (+ the default VPC's)
            "L-0263D0A3": 5,  # EC2-VPC Elastic IPs: environments use Carrier IPs
            "L-CARRIER-IPS": environments,  # Carrier IPs per border group (sandbox setting)
            "L-1216C47A": environments * ENVIRONMENT_VCPUS,  # standard vCPUs (bastion + workload)
        }
        applied = {quota["quota_code"]: quota["applied"] for quota in self.control("GET", "quotas")["quotas"]}
        raised = {code: value for code, value in needed.items() if value > applied.get(code, 0)}
        for code, value in raised.items():
            self.control("POST", "quotas", {"quota_code": code, "value": value})
        listed = ", ".join(f"{code} {applied.get(code, 0):g} -> {value}" for code, value in raised.items()) or "none needed"
        print(f"quotas raised through the sandbox control path (as one asks AWS) for {environments} environments: {listed}")

    def aws_model(self, *, throttle: bool, buckets: dict | None = None) -> None:
        """Fresh token buckets and the AWS latency model; the panel's buckets start afresh too."""
        self.control("POST", "latency", {"preset": "aws"})
        self.control("POST", "throttle", {"enabled": throttle, "scale": 1, "buckets": buckets or {}})
        self.control("DELETE", "calls")
        import redis

        connection = redis.Redis.from_url(os.environ["CELERY_BROKER_URL"])
        for key in connection.scan_iter("wlpanel:rate:*"):
            connection.delete(key)

    def throttle_table(self) -> dict[str, tuple[float, float]]:
        buckets = self.control("GET", "state")["throttle"]["buckets"]
        return {name: (numbers["size"], numbers["refill_per_second"]) for name, numbers in buckets.items()}

    def attempts(self) -> tuple[int, int]:
        """(throttled attempts, all attempts) since the last clear, from the sandbox's call log."""
        calls = self.control("GET", "calls")["calls"]
        return sum(call["code"] == "RequestLimitExceeded" for call in calls), len(calls)


class Workers:
    def __init__(self, env: dict, concurrency: int, log_path: Path):
        self.log = open(log_path, "ab")  # noqa: SIM115 - open for the workers' life
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "wlpanel", "worker", "-Q", QUEUE, "-c", str(concurrency), "-l", "warning"]
            + ["--without-gossip", "--without-mingle", "-n", f"bench-{concurrency}@%h"],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        import signal

        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=60)
        self.log.close()


def opt_in_and_wait(ec2, timeout: float = 60.0) -> None:
    """Opt the seed's group in and wait until AWS (the sandbox) reports it, as an admin would."""
    ec2.modify_availability_zone_group(GroupName=GROUP, OptInStatus="opted-in")
    deadline = time.monotonic() + timeout
    while True:
        zones = ec2.describe_availability_zones(ZoneNames=[SFO])["AvailabilityZones"]
        if zones and zones[0]["OptInStatus"] == "opted-in":
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{GROUP} never reported opted-in")
        time.sleep(0.5)


def seed_people_and_zone(sandbox: Sandbox):
    from django.utils import timezone

    from accounts.choices import TeamRole
    from accounts.models import Team, User
    from environments.models import Zone

    team = Team.objects.create(slug="bench", name="Benchmark team", max_ttl_hours=72)
    alice = User.objects.create_user("alice", password="x-bench-only")
    bob = User.objects.create_user("bob", password="x-bench-only")
    team.memberships.create(user=alice, role=TeamRole.MEMBER)
    team.memberships.create(user=bob, role=TeamRole.APPROVER)
    opt_in_and_wait(baseline_client("us-west-2", sandbox.url))
    zone = Zone.objects.create(
        name=SFO,
        group_name=GROUP,
        region="us-west-2",
        parent_zone_name="us-west-2a",
        network_border_group=SFO,
        opt_in_status="opted-in",
        instance_types=["t3.medium"],
        described_at=timezone.now(),
    )
    return team, alice, bob, zone


def start_warm_workers(env: dict, concurrency: int, people, log_dir: Path) -> "Workers":
    """Workers past their boot: one unmeasured build warms every process's clients and connections."""
    workers = Workers(env, concurrency, log_dir / "bench-workers.log")
    try:
        time.sleep(2 + 0.5 * concurrency)
        build_batch(f"warm{concurrency}-{int(time.monotonic())}", min(concurrency, 4), people, timeout=300)
    except BaseException:
        workers.stop()
        raise
    return workers


# --- One batch ---------------------------------------------------------------------------------------


def build_batch(label: str, size: int, people, timeout: float) -> dict:
    from audit.choices import Source
    from audit.context import Origin
    from environments.models import Environment
    from environments.services import environment_request_approve, environment_request_create

    team, alice, bob, zone = people
    requests = [
        environment_request_create(
            origin=Origin(user=alice, source=Source.SHELL),
            team=team,
            zone=zone,
            name=f"{label}-{number}",
            instance_type="t3.medium",
        )
        for number in range(size)
    ]
    started = time.monotonic()
    ids = [
        environment_request_approve(
            origin=Origin(user=bob, source=Source.SHELL), request_id=request.pk, plan_hash=request.plan_hash
        ).pk
        for request in requests
    ]
    deadline = started + timeout
    while time.monotonic() < deadline:
        pending = Environment.objects.filter(pk__in=ids, state="provisioning").count()
        if not pending:
            break
        time.sleep(0.25)
    wall = time.monotonic() - started
    outcome = builds_outcome(ids)
    return {
        "own_p90": outcome["p90"],
        "label": label,
        "size": size,
        "ids": ids,
        "wall": wall,
        "ready": outcome["ready"],
        "failed": outcome["failed"],
        "own_median": outcome["median"],
        "own_max": outcome["max"],
    }


def builds_outcome(ids: list[int]) -> dict:
    """How the builds of `ids` ended: how many are ready, the failed ones with their reasons, and
    the median, p90 and max of each one's own time from creation to ready."""
    from environments.models import Environment

    environments = list(Environment.objects.filter(pk__in=ids))
    own = sorted((e.ready_at - e.created_at).total_seconds() for e in environments if e.ready_at)
    nan = float("nan")
    return {
        "ready": sum(e.state == "ready" for e in environments),
        "failed": [f"{e.name}: {e.failure_reason}" for e in environments if e.state == "failed"],
        "median": statistics.median(own) if own else nan,
        "p90": own[min(len(own) - 1, int(0.9 * len(own)))] if own else nan,
        "max": own[-1] if own else nan,
    }


# --- Analysis ----------------------------------------------------------------------------------------


def is_read(operation: str) -> bool:
    return operation.startswith(("Describe", "Get", "List"))


def observed_latency(ids: list[int]) -> dict[str, float]:
    """Median seconds of each operation's successful calls that needed no SDK retry."""
    from audit.models import AwsCall

    samples: dict[str, list[float]] = {}
    for operation, duration in AwsCall.objects.filter(environment_id__in=ids, outcome="ok", retries=0).values_list(
        "operation", "duration_ms"
    ):
        samples.setdefault(operation, []).append(duration / 1000)
    return {operation: statistics.median(values) for operation, values in samples.items()}


def critical_path_bound(environment_id: int, latency: dict[str, float], pending: float) -> float:
    """The plan's longest chain, each step costing the calls it needed at the observed latencies."""
    from audit.models import AwsCall
    from environments.models import Environment
    from environments.provisioning.plan import critical_path

    environment = Environment.objects.get(pk=environment_id)
    durations: dict[str, float] = {}
    for resource in environment.resources.all():
        operations = list(
            AwsCall.objects.filter(environment_id=environment_id, resource_key=resource.key, outcome="ok")
            .order_by("id")
            .values_list("operation", flat=True)
        )
        mutating = [op for op in operations if not is_read(op)]
        reads = list(dict.fromkeys(op for op in operations if is_read(op)))  # polling counted once
        durations[resource.key] = sum(latency.get(op, 0.0) for op in mutating + reads)
        if resource.kind in ("instance", "carrier_gateway"):  # both pending for the pending time
            durations[resource.key] += pending
    return critical_path(environment.plan["steps"], durations)


def throttle_bound(ids: list[int], table: dict[str, tuple[float, float]], account_id: str | None = None) -> tuple[float, str]:
    """Seconds the token buckets need for the batch's EC2 calls (in one account when given): max
    over buckets of (calls - burst) / refill. EC2's buckets are per account and Region."""
    from audit.models import AwsCall
    from aws.rate import category_of

    calls = AwsCall.objects.filter(environment_id__in=ids, outcome="ok", service="ec2")
    if account_id is not None:
        calls = calls.filter(account_id=account_id)
    counts: dict[str, int] = {}
    for operation in calls.values_list("operation", flat=True):
        # The engine's reads name ids or filters: never the unfiltered-describe bucket.
        bucket = "non-mutating" if is_read(operation) else category_of(operation, {})
        counts[bucket] = counts.get(bucket, 0) + 1
    bounds = {bucket: max(0.0, (count - table[bucket][0]) / table[bucket][1]) for bucket, count in counts.items()}
    bucket = max(bounds, key=bounds.get)
    return bounds[bucket], f"{bucket}: {counts[bucket]} calls"


def calls_per_environment(ids: list[int]) -> dict[str, float]:
    from audit.models import AwsCall

    # Answered calls only: a mutating call's write-ahead intent row is not a second call.
    answered = AwsCall.objects.filter(environment_id__in=ids).exclude(outcome__in=("intent", "resolved"))
    calls = list(answered.values_list("operation", "outcome", "resource_key"))
    size = len(ids)
    ok = [call for call in calls if call[1] == "ok"]
    return {
        "total": len(calls) / size,
        "ok mutating": sum(not is_read(op) for op, _, _ in ok) / size,
        "ok reads": sum(is_read(op) for op, _, _ in ok) / size,
        "instance polls": sum(op == "DescribeInstances" for op, _, _ in ok) / size,
        "errors": sum(call[1] != "ok" for call in calls) / size,
    }


# --- Baseline: a plain sequential boto3 script ---------------------------------------------------------


def baseline_client(region: str, url: str, name: str = "ec2"):
    import boto3
    from botocore.config import Config

    return boto3.client(
        name,
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="sandbox",
        aws_secret_access_key="sandbox",
        config=Config(retries={"mode": "standard", "max_attempts": 5}),
    )


def baseline_build(url: str, poll: float) -> float:
    """The seed's walk-through as one sequential script: create, wait, create, wait ..."""
    ec2, ssm = baseline_client("us-west-2", url), baseline_client("us-west-2", url, "ssm")
    waiter = {"Delay": max(1, round(poll)), "MaxAttempts": 120}
    started = time.monotonic()
    image = ssm.get_parameter(Name="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")[
        "Parameter"
    ]["Value"]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.get_waiter("vpc_available").wait(VpcIds=[vpc], WaiterConfig=waiter)
    public = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-west-2a")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    public_table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=public_table, SubnetId=public)
    groups = {}
    for key in ("bastion", "wavelength"):
        groups[key] = ec2.create_security_group(GroupName=f"baseline-{key}", Description=key, VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=groups[key], IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}]
        )
    bastion = ec2.run_instances(
        ImageId=image,
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": public, "Groups": [groups["bastion"]], "AssociatePublicIpAddress": True}],
    )["Instances"][0]["InstanceId"]
    ec2.get_waiter("instance_running").wait(InstanceIds=[bastion], WaiterConfig=waiter)
    wavelength = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24", AvailabilityZone=SFO)["Subnet"]["SubnetId"]
    carrier = ec2.create_carrier_gateway(VpcId=vpc)["CarrierGateway"]["CarrierGatewayId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", CarrierGatewayId=carrier)
    ec2.associate_route_table(RouteTableId=table, SubnetId=wavelength)
    instance = ec2.run_instances(
        ImageId=image,
        InstanceType="t3.medium",
        MinCount=1,
        MaxCount=1,
        SubnetId=wavelength,
        SecurityGroupIds=[groups["wavelength"]],
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeType": "gp2", "VolumeSize": 8}}],
    )["Instances"][0]
    ec2.get_waiter("instance_running").wait(InstanceIds=[instance["InstanceId"]], WaiterConfig=waiter)
    allocation = ec2.allocate_address(Domain="vpc", NetworkBorderGroup=SFO)["AllocationId"]
    ec2.associate_address(AllocationId=allocation, NetworkInterfaceId=instance["NetworkInterfaces"][0]["NetworkInterfaceId"])
    return time.monotonic() - started


# --- Report ------------------------------------------------------------------------------------------


def report_batch(result: dict, args, one_environment_time: float | None, sandbox: "Sandbox") -> float:
    ids = result["ids"]
    latency = observed_latency(ids)
    bounds = [critical_path_bound(environment_id, latency, args.pending) for environment_id in ids[:5]]
    bound = statistics.median(bounds)
    throttle, binding = throttle_bound(ids, sandbox.throttle_table())
    throttled, attempts = sandbox.attempts()
    calls = calls_per_environment(ids)
    print(f"\n== {result['label']}: {result['size']} environment(s), concurrency {result['concurrency']} ==")
    print(f"ready {result['ready']}/{result['size']}; failed: {result['failed'] or 'none'}")
    print(f"wall time                     {result['wall']:8.1f} s")
    print(f"each environment (median/max) {result['own_median']:8.1f} / {result['own_max']:.1f} s")
    print(f"critical path (observed)      {bound:8.1f} s   ratio wall/critical path {result['wall'] / bound:5.2f}")
    print(f"throttle bound                {throttle:8.1f} s   ({binding})")
    if throttle > 0:
        print(
            f"time to ready / throttle bound  median {result['own_median'] / throttle:.2f}, "
            f"p90 {result['own_p90'] / throttle:.2f}, wall {result['wall'] / throttle:.2f}"
        )
    print(f"time to ready (median/p90)    {result['own_median']:8.1f} / {result['own_p90']:.1f} s")
    print(f"throttled attempts            {throttled:8d} of {attempts} ({100 * throttled / max(attempts, 1):.2f}%)")
    reference = max(throttle, one_environment_time or bound)
    print(f"wall / max(throttle, 1 env)   {result['wall'] / reference:8.2f}")
    minimum = len(MINIMUM_MUTATING)
    print(
        f"AWS calls per environment     {calls['total']:8.1f}   (ok mutating {calls['ok mutating']:.1f} vs minimum "
        f"{minimum}; ok reads {calls['ok reads']:.1f} of which instance polls {calls['instance polls']:.1f}; "
        f"errors {calls['errors']:.1f})"
    )
    print("observed median latency (s)   " + ", ".join(f"{op} {value:.2f}" for op, value in sorted(latency.items())))
    return result["wall"]


def main() -> None:
    args = parse_arguments()
    if args.accounts < 1 or (args.accounts > 1 and args.environments < args.accounts):
        raise SystemExit("--accounts: at least 1, and --environments at least one per account")
    database_url = recreate_database(args.database)
    sandbox = Sandbox(args.pending)
    env = configure_environment(args, database_url, sandbox.url)

    import django

    django.setup()
    import redis
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    redis.Redis(db=args.redis_db).flushdb()
    people = seed_people_and_zone(sandbox)
    log_dir = ROOT / "var"
    log_dir.mkdir(exist_ok=True)
    throttle = not args.no_throttle
    buckets = json.loads(args.throttle_buckets) if args.throttle_buckets else None
    began = time.monotonic()
    print(f"sandbox {sandbox.url}: AWS latency preset, throttle {'on' if throttle else 'off'}, pending {args.pending} s")

    if args.accounts > 1:
        from bench import accounts

        sandbox.raise_quotas(min(args.concurrency, 4))  # the warm-up builds, in the panel's own account
        accounts.run(args, sandbox, env, people, log_dir)
        print(f"\nbenchmark took {time.monotonic() - began:.0f} s")
        sandbox.server.stop()
        return
    sizes = [int(value) for value in args.sizes.split(",") if value]
    sweeps = [int(value) for value in args.sweep.split(",") if value]
    warm_builds = sum(min(concurrency, 4) for concurrency in [args.concurrency, *sweeps])
    sandbox.raise_quotas(1 + sum(sizes) + len(sweeps) * args.sweep_size + warm_builds)

    sandbox.aws_model(throttle=throttle, buckets=buckets)
    print(f"\nbaseline (sequential boto3 + waiters polling every {args.poll:g} s): {baseline_build(sandbox.url, args.poll):.1f} s")

    one_environment_time = None
    workers = start_warm_workers(env, args.concurrency, people, log_dir)
    try:
        for run, size in enumerate(int(value) for value in args.sizes.split(",") if value):
            if size > 1 and time.monotonic() - began > args.budget:
                print(f"\n(skipped {size} environments: over the {args.budget:.0f} s budget)")
                continue
            sandbox.aws_model(throttle=throttle, buckets=buckets)
            result = build_batch(f"n{size}-r{run}", size, people, timeout=max(300.0, size * 8.0))
            result["concurrency"] = args.concurrency
            wall = report_batch(result, args, one_environment_time, sandbox)
            if size == 1:
                one_environment_time = wall
    finally:
        workers.stop()

    for concurrency in [int(value) for value in args.sweep.split(",") if value]:
        if time.monotonic() - began > args.budget:
            print(f"\n(skipped the concurrency {concurrency} run: over the {args.budget:.0f} s budget)")
            continue
        workers = start_warm_workers(env, concurrency, people, log_dir)
        try:
            sandbox.aws_model(throttle=throttle, buckets=buckets)
            result = build_batch(f"c{concurrency}", args.sweep_size, people, timeout=300)
        finally:
            workers.stop()
        result["concurrency"] = concurrency
        report_batch(result, args, one_environment_time, sandbox)
    print(f"\nbenchmark took {time.monotonic() - began:.0f} s")
    sandbox.server.stop()


if __name__ == "__main__":
    main()
