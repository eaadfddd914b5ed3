"""The pre-flight check, pure: a plan's needs against a Region's quotas and what it already uses.

Plain data in (the stored plan document, quota values and usage as `aws.quotas` read them), plain
rows out. Shown beside the plan, never inside it: usage changes by the minute, the plan's hash
must not.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class QuotaDef:
    service_code: str
    quota_code: str
    name: str
    usage: str  # the key of `aws.quotas.region_usage` it is counted from ("vcpus": by bucket)


VPCS = QuotaDef("vpc", "L-F678F1CE", "VPCs per Region", "vpcs")
INTERNET_GATEWAYS = QuotaDef("vpc", "L-A4707A72", "Internet gateways per Region", "internet_gateways")
SECURITY_GROUPS = QuotaDef("vpc", "L-E79EC296", "VPC security groups per Region", "security_groups")
# AWS documents no Service Quotas code for Carrier IPs; the sandbox answers this one of its own.
CARRIER_IPS = QuotaDef("sandbox", "L-CARRIER-IPS", "Carrier IPs per network border group", "carrier_ips")
STANDARD_VCPUS = QuotaDef(
    "ec2", "L-1216C47A", "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances (vCPUs)", "vcpus"
)
G_VT_VCPUS = QuotaDef("ec2", "L-DB2E81BA", "Running On-Demand G and VT instances (vCPUs)", "vcpus")
P_VCPUS = QuotaDef("ec2", "L-417A185B", "Running On-Demand P instances (vCPUs)", "vcpus")
X_VCPUS = QuotaDef("ec2", "L-7295265B", "Running On-Demand X instances (vCPUs)", "vcpus")
F_VCPUS = QuotaDef("ec2", "L-74FC7D96", "Running On-Demand F instances (vCPUs)", "vcpus")
INF_VCPUS = QuotaDef("ec2", "L-1945791B", "Running On-Demand Inf instances (vCPUs)", "vcpus")
DL_VCPUS = QuotaDef("ec2", "L-6E869C2A", "Running On-Demand DL instances (vCPUs)", "vcpus")
TRN_VCPUS = QuotaDef("ec2", "L-2C3B7624", "Running On-Demand Trn instances (vCPUs)", "vcpus")
HPC_VCPUS = QuotaDef("ec2", "L-F7808C92", "Running On-Demand HPC instances (vCPUs)", "vcpus")

# Longest prefix first: "dl" before "d", "inf" before "i", "hpc" before "h", "trn" before "t".
VCPU_BUCKETS: tuple[tuple[str, QuotaDef | None], ...] = (
    ("mac", None),  # Mac instances run on dedicated hosts: no vCPU quota
    ("dl", DL_VCPUS),
    ("inf", INF_VCPUS),
    ("trn", TRN_VCPUS),
    ("hpc", HPC_VCPUS),
    ("vt", G_VT_VCPUS),
    ("g", G_VT_VCPUS),
    ("p", P_VCPUS),
    ("x", X_VCPUS),
    ("f", F_VCPUS),
    ("u-", None),  # High Memory: their own quotas per size, not checked
    *((letter, STANDARD_VCPUS) for letter in "acdhimrtz"),
)
ALWAYS_READ = (VPCS, INTERNET_GATEWAYS, SECURITY_GROUPS, CARRIER_IPS, STANDARD_VCPUS)
BY_CODE = {
    quota.quota_code: quota for quota in (*ALWAYS_READ, *(bucket for _, bucket in VCPU_BUCKETS if bucket))
}


def vcpu_quota(instance_type: str) -> QuotaDef | None:
    """The vCPU quota an instance type counts against (None: a family with no vCPU quota here)."""
    family = instance_type.split(".", 1)[0].lower()
    for prefix, quota in VCPU_BUCKETS:
        if family.startswith(prefix):
            return quota
    return None


def quotas_to_read(instance_types: list[str]) -> list[QuotaDef]:
    """The quotas a Region's check reads: the fixed ones and the vCPU quota of every type asked for."""
    found = {quota.quota_code: quota for quota in ALWAYS_READ}
    for name in instance_types:
        quota = vcpu_quota(name)
        if quota is not None:
            found.setdefault(quota.quota_code, quota)
    return list(found.values())


def plan_instance_types(plan: dict) -> list[str]:
    return [
        step["params"]["InstanceType"]
        for step in plan.get("steps", [])
        if step.get("kind") == "instance" and step.get("params", {}).get("InstanceType")
    ]


@dataclass
class Need:
    quota: QuotaDef
    count: int = 0
    unknown: list[str] | None = None  # instance types whose vCPUs are not known yet
    border_group: str = ""


def plan_needs(plan: dict, vcpus: dict[str, int]) -> list[Need]:
    """What the plan creates, per quota, in the order the table shows it. Every new VPC brings a
    default security group of its own, which counts too."""
    needs: dict[str, Need] = {}

    def add(quota: QuotaDef, count: int = 1, **extra) -> Need:
        need = needs.setdefault(quota.quota_code, Need(quota, **extra))
        need.count += count
        return need

    for step in plan.get("steps", []):
        kind, params = step.get("kind"), step.get("params", {})
        if kind == "vpc":
            add(VPCS)
            add(SECURITY_GROUPS)
        elif kind == "internet_gateway":
            add(INTERNET_GATEWAYS)
        elif kind == "security_group":
            add(SECURITY_GROUPS)
        elif kind == "carrier_ip":
            add(CARRIER_IPS, border_group=params.get("NetworkBorderGroup", ""))
        elif kind == "instance":
            instance_type = params.get("InstanceType", "")
            quota = vcpu_quota(instance_type)
            if quota is None:
                continue
            if instance_type in vcpus:
                add(quota, vcpus[instance_type])
            else:
                need = add(quota, 0)
                need.unknown = [*(need.unknown or []), instance_type]
    return list(needs.values())


def in_use(quota: QuotaDef, usage: dict, border_group: str = "") -> int | None:
    if quota.usage == "carrier_ips":
        return usage.get("carrier_ips", {}).get(border_group, 0) if "carrier_ips" in usage else None
    if quota.usage == "vcpus":
        if "instances" not in usage:
            return None
        vcpus = usage.get("vcpus", {})
        return sum(
            count * vcpus.get(name, 0)
            for name, count in usage["instances"].items()
            if vcpu_quota(name) == quota
        )
    return usage.get(quota.usage)


def how_to_raise(quota: QuotaDef, *, region: str, desired: int, adjustable: bool) -> str:
    if quota is CARRIER_IPS:
        return (
            "AWS publishes no Service Quotas code for Carrier IPs: release Carrier IPs no longer used, "
            "or ask AWS Support to raise the limit of the network border group."
        )
    if not adjustable:
        return "Not adjustable: free some up first."
    return (
        "Service Quotas console, or `aws service-quotas request-service-quota-increase "
        f"--region {region} --service-code {quota.service_code} --quota-code {quota.quota_code} "
        f"--desired-value {desired}`."
    )


def preflight_rows(plan: dict, *, quotas: dict[str, dict], usage: dict) -> list[dict]:
    """One row per quota the plan uses: limit, in use, needed, whether it fits, how to raise it.

    `quotas`: {quota code: aws.quotas.quota_value(...)}; `usage`: aws.quotas.region_usage(...).
    `fits` is None when the limit, the usage or the need is not known.
    """
    region = plan.get("spec", {}).get("region", "")
    rows = []
    for need in plan_needs(plan, usage.get("vcpus", {})):
        quota = need.quota
        read = quotas.get(quota.quota_code, {})
        limit = read.get("value")
        used = in_use(quota, usage, need.border_group)
        notes = []
        if need.unknown:
            notes.append(f"vCPUs of {', '.join(need.unknown)} not known yet")
        if limit is None:
            notes.append(f"limit not readable ({read['error']})" if read.get("error") else "limit not read yet")
        elif read.get("source") == "default":
            notes.append("AWS's default (no value applied to the account)")
        fits = None
        if limit is not None and used is not None and not need.unknown:
            fits = used + need.count <= limit
        name = quota.name + (f" ({need.border_group})" if need.border_group else "")
        rows.append(
            {
                "quota": name,
                "service_code": quota.service_code,
                "quota_code": quota.quota_code,
                "limit": limit,
                "in_use": used,
                "needs": need.count,
                "fits": fits,
                "note": "; ".join(notes),
                "how_to_raise": how_to_raise(
                    quota,
                    region=region,
                    desired=int((used or 0) + need.count),
                    adjustable=read.get("adjustable", True),
                ),
            }
        )
    return rows


def overall_fit(rows: list[dict]) -> bool | None:
    """False when some quota would not fit, None when some is unknown, True when all fit."""
    if any(row["fits"] is False for row in rows):
        return False
    if any(row["fits"] is None for row in rows):
        return None
    return True
