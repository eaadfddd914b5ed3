"""The cost estimate of a plan: pure (no Django), plain data in, plain data out.

Priced per billable resource of the plan: each instance (Linux, on demand) in the Wavelength
Zone's or the region's Price List location, its gp2 root volume, the bastion's public IPv4 and
the Carrier IP; data transfer is listed as usage-dependent. The estimate is shown beside the plan,
never inside it: a price change never changes a plan hash.
"""

from decimal import ROUND_HALF_UP, Decimal

CURRENCY = "USD"
HOURS_PER_MONTH = Decimal(730)  # AWS's own convention for GB-month and monthly estimates
ROOT_VOLUME_GB = 8  # the Amazon Linux 2023 AMI's root volume; the plan does not resize it
NO_PRICE = "no price"
USAGE_DEPENDENT = "usage-dependent"

# (location, kind, instance type or "") -> {"usd": Decimal, "unit": str, "sample": bool, "source": str}
PriceTable = dict[tuple[str, str, str], dict]


def _money(value: Decimal | None, places: str = "0.0001") -> float | None:
    return None if value is None else float(value.quantize(Decimal(places), rounding=ROUND_HALF_UP))


def _item(resource: str, key: str, price: dict | None, hourly: Decimal | None) -> dict:
    if price is None:
        return {"resource": resource, "key": key, "hourly": None, "source": NO_PRICE, "sample": False}
    return {
        "resource": resource,
        "key": key,
        "hourly": _money(hourly, "0.000001"),
        "source": price["source"],
        "sample": price["sample"],
        "_hourly": hourly,
    }


def plan_items(plan: dict, *, zone_location: str | None, region_location: str | None, prices: PriceTable) -> list[dict]:
    """One item per billable resource of the plan (hourly USD, or None with source "no price")."""

    def lookup(location: str | None, kind: str, instance_type: str = "") -> dict | None:
        return prices.get((location, kind, instance_type)) if location else None

    items: list[dict] = []
    for step in plan.get("steps", []):
        params = step.get("params") or {}
        if step["kind"] == "instance":
            location = zone_location if params.get("Subnet") == "wavelength_subnet" else region_location
            instance_type = params.get("InstanceType", "")
            price = lookup(location, "instance", instance_type)
            items.append(_item(f"{step['title']} ({instance_type})", step["key"], price, price and price["usd"]))
            volume = lookup(location, "ebs_gp2")
            items.append(
                _item(
                    f"{step['title']} root volume (gp2, {ROOT_VOLUME_GB} GiB)",
                    f"{step['key']}_volume",
                    volume,
                    volume and volume["usd"] * ROOT_VOLUME_GB / HOURS_PER_MONTH,
                )
            )
            if params.get("AssociatePublicIpAddress"):
                address = lookup(region_location, "public_ipv4")
                items.append(_item(f"{step['title']} public IPv4", f"{step['key']}_ipv4", address, address and address["usd"]))
        elif step["kind"] == "carrier_ip":
            price = lookup(zone_location, "carrier_ip")
            items.append(_item(step["title"], step["key"], price, price and price["usd"]))
    items.append(
        {"resource": "Data transfer (carrier network and internet)", "key": "data_transfer", "hourly": None, "source": USAGE_DEPENDENT, "sample": False}
    )
    return items


def estimate(
    plan: dict,
    *,
    hours: float,
    zone_location: str | None,
    region_location: str | None,
    prices: PriceTable,
    as_of: str | None,
) -> dict:
    """The `cost` document (DESIGN section 6): hourly and to-expiry totals and the items.

    The totals are None when a billable resource has no price: a partial sum would understate it.
    """
    items = plan_items(plan, zone_location=zone_location, region_location=region_location, prices=prices)
    billable = [item for item in items if item["source"] != USAGE_DEPENDENT]
    complete = all(item["source"] != NO_PRICE for item in billable)
    hourly = sum((item["_hourly"] for item in billable), Decimal(0)) if complete else None
    for item in items:
        item.pop("_hourly", None)
    return {
        "currency": CURRENCY,
        "hourly": _money(hourly),
        "to_expiry": _money(hourly * Decimal(str(hours)) if hourly is not None else None, "0.01"),
        "monthly": _money(hourly * HOURS_PER_MONTH if hourly is not None else None, "0.01"),
        "hours": hours,
        "as_of": as_of,
        "complete": complete,
        "sample": any(item["sample"] for item in items),
        "items": items,
    }
