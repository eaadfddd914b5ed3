"""The pure estimate: plain plan and prices in, the `cost` document out."""

from decimal import Decimal

from environments.provisioning.plan import PlanSpec, plan_document
from pricing.estimate import NO_PRICE, USAGE_DEPENDENT, estimate

ZONE_LOCATION = "US West (Verizon) - San Francisco Bay Area"
REGION_LOCATION = "US West (Oregon)"


def _price(usd: str, sample: bool = True) -> dict:
    return {"usd": Decimal(usd), "unit": "Hrs", "sample": sample, "source": "sample data" if sample else "AWS Price List API"}


PRICES = {
    (ZONE_LOCATION, "instance", "t3.medium"): _price("0.056"),
    (ZONE_LOCATION, "instance", "t3.xlarge"): _price("0.224"),
    (ZONE_LOCATION, "ebs_gp2", ""): {**_price("0.12"), "unit": "GB-Mo"},
    (ZONE_LOCATION, "carrier_ip", ""): _price("0.005"),
    (REGION_LOCATION, "instance", "t3.micro"): _price("0.0104", sample=False),
    (REGION_LOCATION, "ebs_gp2", ""): {**_price("0.10", sample=False), "unit": "GB-Mo"},
    (REGION_LOCATION, "public_ipv4", ""): _price("0.005", sample=False),
}


def _plan(instance_type="t3.medium", bastion=True) -> dict:
    return plan_document(
        PlanSpec(
            name="edge-1",
            region="us-west-2",
            zone="us-west-2-wl1-sfo-wlz-1",
            parent_zone="us-west-2a",
            instance_type=instance_type,
            bastion=bastion,
        )
    )


def _estimate(plan, hours=72, prices=PRICES, zone_location=ZONE_LOCATION):
    return estimate(plan, hours=hours, zone_location=zone_location, region_location=REGION_LOCATION, prices=prices, as_of="2026-12-06T00:00:00+00:00")


def test_every_billable_resource_is_priced_and_data_transfer_is_usage_dependent():
    cost = _estimate(_plan())
    by_key = {item["key"]: item for item in cost["items"]}
    assert set(by_key) == {
        "bastion", "bastion_volume", "bastion_ipv4", "wavelength_instance", "wavelength_instance_volume", "carrier_ip", "data_transfer",
    }
    assert by_key["wavelength_instance"]["hourly"] == 0.056
    assert by_key["bastion"]["hourly"] == 0.0104 and by_key["bastion"]["source"] == "AWS Price List API"
    assert by_key["wavelength_instance_volume"]["hourly"] == round(0.12 * 8 / 730, 6)
    assert by_key["data_transfer"] == {**by_key["data_transfer"], "hourly": None, "source": USAGE_DEPENDENT}
    expected = 0.056 + 0.12 * 8 / 730 + 0.005 + 0.0104 + 0.10 * 8 / 730 + 0.005
    assert cost["hourly"] == round(expected, 4)
    assert abs(cost["to_expiry"] - expected * 72) < 0.006
    assert cost["sample"] is True and cost["complete"] is True and cost["currency"] == "USD"


def test_the_estimate_changes_with_instance_type_ttl_and_bastion():
    medium, xlarge = _estimate(_plan("t3.medium")), _estimate(_plan("t3.xlarge"))
    assert round(xlarge["hourly"] - medium["hourly"], 4) == 0.168
    assert _estimate(_plan(), hours=24)["to_expiry"] < _estimate(_plan(), hours=72)["to_expiry"]
    without_bastion = _estimate(_plan(bastion=False))
    assert "bastion" not in {item["key"] for item in without_bastion["items"]}
    assert without_bastion["hourly"] < medium["hourly"]


def test_a_resource_without_price_gives_no_total():
    cost = _estimate(_plan("g4dn.2xlarge"))
    [instance] = [item for item in cost["items"] if item["key"] == "wavelength_instance"]
    assert instance["source"] == NO_PRICE and instance["hourly"] is None
    assert cost["hourly"] is None and cost["to_expiry"] is None and cost["complete"] is False
    unknown_location = _estimate(_plan(), zone_location=None)
    assert unknown_location["hourly"] is None
