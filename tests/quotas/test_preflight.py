"""The pre-flight check's pure core: a plan's needs against quotas and usage (no Django, no AWS)."""

import pytest

from environments.provisioning.plan import PlanSpec, plan_document
from quotas.preflight import overall_fit, plan_needs, preflight_rows, quotas_to_read, vcpu_quota

SFO = "us-west-2-wl1-sfo-wlz-1"


def plan(**fields) -> dict:
    spec = {"name": "edge", "region": "us-west-2", "zone": SFO, "parent_zone": "us-west-2a", "instance_type": "t3.medium"}
    return plan_document(PlanSpec(**(spec | fields)))


def quotas(**values) -> dict:
    found = {code: {"value": 100.0, "adjustable": True, "source": "applied"} for code in ("L-F678F1CE", "L-A4707A72", "L-E79EC296", "L-CARRIER-IPS", "L-1216C47A", "L-DB2E81BA")}
    for code, value in values.items():
        found[code.replace("_", "-")] = {"value": value, "adjustable": True, "source": "applied"}
    return found


USAGE = {
    "vpcs": 1,
    "internet_gateways": 0,
    "security_groups": 1,
    "elastic_ips": 0,
    "carrier_ips": {SFO: 2},
    "instances": {"t3.large": 2, "g4dn.2xlarge": 1},
    "vcpus": {"t3.large": 2, "g4dn.2xlarge": 8, "t3.medium": 2, "t3.micro": 2},
}


@pytest.mark.parametrize(
    ("instance_type", "code"),
    [
        ("t3.medium", "L-1216C47A"),
        ("r5.2xlarge", "L-1216C47A"),
        ("g4dn.2xlarge", "L-DB2E81BA"),
        ("vt1.3xlarge", "L-DB2E81BA"),
        ("dl1.24xlarge", "L-6E869C2A"),
        ("inf1.xlarge", "L-1945791B"),
        ("hpc6a.48xlarge", "L-F7808C92"),
        ("trn1.2xlarge", "L-2C3B7624"),
        ("p4d.24xlarge", "L-417A185B"),
        ("x2idn.16xlarge", "L-7295265B"),
    ],
)
def test_each_family_counts_against_its_vcpu_quota(instance_type, code):
    assert vcpu_quota(instance_type).quota_code == code


def test_families_without_a_vcpu_quota_are_not_counted():
    assert vcpu_quota("mac1.metal") is None and vcpu_quota("u-6tb1.metal") is None


def test_what_the_plan_needs_with_and_without_a_bastion():
    with_bastion = {need.quota.quota_code: need.count for need in plan_needs(plan(), USAGE["vcpus"])}
    without = {need.quota.quota_code: need.count for need in plan_needs(plan(bastion=False), USAGE["vcpus"])}
    # The new VPC's own default security group counts beside the plan's groups.
    assert with_bastion == {"L-F678F1CE": 1, "L-A4707A72": 1, "L-E79EC296": 3, "L-1216C47A": 4, "L-CARRIER-IPS": 1}
    assert without == {"L-F678F1CE": 1, "L-E79EC296": 2, "L-1216C47A": 2, "L-CARRIER-IPS": 1}


def test_rows_say_limit_use_need_and_fit():
    rows = {row["quota_code"]: row for row in preflight_rows(plan(), quotas=quotas(L_F678F1CE=1, L_CARRIER_IPS=3), usage=USAGE)}
    assert (rows["L-F678F1CE"]["in_use"], rows["L-F678F1CE"]["needs"], rows["L-F678F1CE"]["fits"]) == (1, 1, False)
    assert "--desired-value 2" in rows["L-F678F1CE"]["how_to_raise"]
    assert rows["L-CARRIER-IPS"]["quota"] == f"Carrier IPs per network border group ({SFO})"
    assert (rows["L-CARRIER-IPS"]["in_use"], rows["L-CARRIER-IPS"]["fits"]) == (2, True)
    assert "AWS Support" in rows["L-CARRIER-IPS"]["how_to_raise"]
    assert rows["L-1216C47A"]["in_use"] == 4  # two t3.large; the G instance counts elsewhere
    assert overall_fit(list(rows.values())) is False


def test_an_unreadable_limit_or_unknown_vcpus_leave_the_fit_unknown():
    read = quotas() | {"L-CARRIER-IPS": {"error": "NoSuchResourceException", "message": "no"}}
    rows = preflight_rows(plan(instance_type="r5.2xlarge"), quotas=read, usage=USAGE)
    by_code = {row["quota_code"]: row for row in rows}
    assert by_code["L-CARRIER-IPS"]["fits"] is None and "NoSuchResourceException" in by_code["L-CARRIER-IPS"]["note"]
    assert by_code["L-1216C47A"]["fits"] is None and "r5.2xlarge" in by_code["L-1216C47A"]["note"]
    assert overall_fit(rows) is None


def test_the_vcpu_quota_of_each_type_asked_for_is_read():
    codes = [quota.quota_code for quota in quotas_to_read(["t3.medium", "g4dn.2xlarge", "p4d.24xlarge"])]
    assert codes == ["L-F678F1CE", "L-A4707A72", "L-E79EC296", "L-CARRIER-IPS", "L-1216C47A", "L-DB2E81BA", "L-417A185B"]
