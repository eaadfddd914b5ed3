"""Service quotas and what a Region already uses of them: the reads behind the pre-flight check.

Reads only (the call log holds each one, as every call). Values come back as plain data, so the
panel stores them and compares them without talking to AWS again.
"""

from .client import ClientError
from .errors import error_code

LIVE_INSTANCE_STATES = ["pending", "running"]  # what the vCPU quotas count


def quota_value(servicequotas, service_code: str, quota_code: str) -> dict:
    """The applied value of one quota; AWS's default when no value is applied to the account.

    {"value", "name", "adjustable", "source": "applied"|"default"} or {"error": code, "message"}
    when neither answers (a quota AWS does not know, or no permission to read it).
    """
    for source, read in (
        ("applied", servicequotas.get_service_quota),
        ("default", servicequotas.get_aws_default_service_quota),
    ):
        try:
            quota = read(ServiceCode=service_code, QuotaCode=quota_code)["Quota"]
        except ClientError as exc:
            failure = {"error": error_code(exc), "message": str(exc)[:300]}
            if failure["error"] == "NoSuchResourceException":
                continue  # no applied value: AWS's default is what applies
            return failure
        return {
            "value": quota.get("Value"),
            "name": quota.get("QuotaName", ""),
            "adjustable": bool(quota.get("Adjustable", True)),
            "source": source,
        }
    return failure


def _pages(method, key: str, **arguments) -> list[dict]:
    found: list[dict] = []
    while True:
        answer = method(**arguments)
        found += answer.get(key, [])
        if not answer.get("NextToken"):
            return found
        arguments["NextToken"] = answer["NextToken"]


def instance_vcpus(ec2, instance_types: list[str]) -> dict[str, int]:
    """{instance type: default vCPUs}; types AWS does not know are left out."""
    vcpus: dict[str, int] = {}
    wanted = sorted(set(instance_types))
    for start in range(0, len(wanted), 100):  # DescribeInstanceTypes takes 100 names at most
        try:
            answer = _pages(ec2.describe_instance_types, "InstanceTypes", InstanceTypes=wanted[start : start + 100])
        except ClientError as exc:
            if error_code(exc) != "InvalidInstanceType":
                raise
            answer = []
            for name in wanted[start : start + 100]:  # one unknown name fails the batch: ask one by one
                try:
                    answer += ec2.describe_instance_types(InstanceTypes=[name])["InstanceTypes"]
                except ClientError as one:
                    if error_code(one) != "InvalidInstanceType":
                        raise
        for item in answer:
            vcpus[item["InstanceType"]] = int(item.get("VCpuInfo", {}).get("DefaultVCpus", 0))
    return vcpus


def region_usage(ec2, *, instance_types: list[str]) -> dict:
    """What the Region holds now that the environment's quotas count, as AWS lists it.

    `instance_types`: types whose vCPUs the caller needs besides those running (what a plan may ask).
    """
    addresses = ec2.describe_addresses()["Addresses"]
    carrier_ips: dict[str, int] = {}
    for address in addresses:
        if address.get("CarrierIp"):
            group = address.get("NetworkBorderGroup", "")
            carrier_ips[group] = carrier_ips.get(group, 0) + 1
    instances: dict[str, int] = {}
    for reservation in _pages(
        ec2.describe_instances,
        "Reservations",
        Filters=[{"Name": "instance-state-name", "Values": LIVE_INSTANCE_STATES}],
    ):
        for instance in reservation["Instances"]:
            instances[instance["InstanceType"]] = instances.get(instance["InstanceType"], 0) + 1
    return {
        "vpcs": len(_pages(ec2.describe_vpcs, "Vpcs")),
        "internet_gateways": len(_pages(ec2.describe_internet_gateways, "InternetGateways")),
        "security_groups": len(_pages(ec2.describe_security_groups, "SecurityGroups")),
        "elastic_ips": sum(1 for address in addresses if not address.get("CarrierIp")),
        "carrier_ips": carrier_ips,
        "instances": instances,
        "vcpus": instance_vcpus(ec2, [*instances, *instance_types]),
    }
