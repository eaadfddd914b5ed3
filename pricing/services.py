"""Writes of the price cache: the daily refresh from the AWS Price List API."""

import logging

from django.db import transaction
from django.utils import timezone

from audit.context import Origin
from aws import client as aws_client
from aws import pricing as aws_pricing
from netmodel.zones import price_locations, region_price_locations

from .choices import PricedKind
from .models import Price, PriceLocation

log = logging.getLogger(__name__)


def _queries(location: str, *, in_region: bool) -> list[tuple[str, str, dict]]:
    queries = [
        (PricedKind.INSTANCE, aws_pricing.EC2, aws_pricing.instance_terms(location)),
        (PricedKind.EBS_GP2, aws_pricing.EC2, aws_pricing.gp2_terms(location)),
    ]
    if in_region:
        queries.append((PricedKind.PUBLIC_IPV4, aws_pricing.VPC, aws_pricing.public_ipv4_terms(location)))
    else:
        queries.append((PricedKind.CARRIER_IP, aws_pricing.EC2, aws_pricing.carrier_ip_terms(location)))
    return queries


def prices_refresh(*, origin: Origin) -> dict:
    """Fetch the prices of every zone's and parent region's Price List location; replace the cache.

    Each location is first checked against `GetAttributeValues(AmazonEC2, location)`: one AWS does
    not list keeps no prices (its zones show "no price"). Returns counts for the audit row.
    """
    client = aws_client.pricing_client(context=aws_client.CallContext(correlation_id=origin.correlation_id))
    listed = aws_pricing.attribute_values(client, service_code=aws_pricing.EC2, attribute="location")
    regions = set(region_price_locations().values())
    needed = sorted(set(price_locations().values()) | regions)
    now = timezone.now()
    summary = {"locations": len(needed), "unlisted": [], "prices": 0, "sample": 0}
    for location in needed:
        rows: dict[tuple[str, str], Price] = {}
        if location in listed:
            for kind, service, terms in _queries(location, in_region=location in regions):
                for product in aws_pricing.products_get(client, service_code=service, terms=terms):
                    price = aws_pricing.on_demand_price(product)
                    if price is None:
                        continue
                    attributes = product.get("product", {}).get("attributes", {})
                    instance_type = attributes.get("instanceType", "") if kind == PricedKind.INSTANCE else ""
                    rows[(kind, instance_type)] = Price(
                        location=location,
                        kind=kind,
                        instance_type=instance_type,
                        usd=price.usd,
                        unit=price.unit,
                        description=price.description[:300],
                        sku=price.sku,
                        sample=price.sample,
                        source=price.source[:300],
                        source_date=price.source_date,
                        refreshed_at=now,
                    )
        else:
            summary["unlisted"].append(location)
        with transaction.atomic():
            PriceLocation.objects.update_or_create(location=location, defaults={"listed": location in listed, "checked_at": now})
            Price.objects.filter(location=location).delete()
            Price.objects.bulk_create(rows.values())
        summary["prices"] += len(rows)
        summary["sample"] += sum(1 for row in rows.values() if row.sample)
    origin.record(action="prices.refreshed", target=None, target_repr="price cache", details=summary)
    return summary
