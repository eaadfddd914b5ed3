"""The AWS Price List API (service `pricing`, served from us-east-1): locations and on-demand prices.

Each PriceList item is AWS's JSON product document (as a string, or already parsed); the price is
the first on-demand price dimension. The sandbox adds `wlpanel` {"sample", "source_url",
"source_date"} to say where its price comes from; an item without it comes from AWS itself.
"""

import json
from dataclasses import dataclass
from decimal import Decimal

EC2 = "AmazonEC2"
VPC = "AmazonVPC"
AWS_SOURCE = "AWS Price List API"


@dataclass(frozen=True)
class Price:
    usd: Decimal
    unit: str  # "Hrs", "GB-Mo"
    description: str
    sku: str
    sample: bool  # sample data, not a price from AWS
    source: str  # a URL, "AWS Price List API", or "sample data"
    source_date: str  # the date the price was typed from its page, or AWS's publication date


def attribute_values(pricing, *, service_code: str = EC2, attribute: str = "location") -> set[str]:
    """Every value AWS lists for one attribute of a service (e.g. every `location` of AmazonEC2)."""
    values: set[str] = set()
    arguments = {"ServiceCode": service_code, "AttributeName": attribute, "MaxResults": 100}
    while True:
        answer = pricing.get_attribute_values(**arguments)
        values.update(item["Value"] for item in answer.get("AttributeValues", []))
        if not answer.get("NextToken"):
            return values
        arguments["NextToken"] = answer["NextToken"]


def products_get(pricing, *, service_code: str = EC2, terms: dict[str, str]) -> list[dict]:
    """The products whose attributes equal `terms` (TERM_MATCH filters), as parsed JSON documents."""
    arguments = {
        "ServiceCode": service_code,
        "Filters": [{"Type": "TERM_MATCH", "Field": field, "Value": value} for field, value in terms.items()],
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    products: list[dict] = []
    while True:
        answer = pricing.get_products(**arguments)
        products += [json.loads(item) if isinstance(item, str) else item for item in answer.get("PriceList", [])]
        if not answer.get("NextToken"):
            return products
        arguments["NextToken"] = answer["NextToken"]


def on_demand_price(product: dict) -> Price | None:
    """The product's on-demand USD price, or None when it has none."""
    for term in (product.get("terms", {}).get("OnDemand") or {}).values():
        for dimension in (term.get("priceDimensions") or {}).values():
            usd = (dimension.get("pricePerUnit") or {}).get("USD")
            if usd is None:
                continue
            marker = product.get("wlpanel") or {}
            sample = bool(marker.get("sample"))
            if sample:
                source = "sample data"
            else:
                source = marker.get("source_url") or AWS_SOURCE
            return Price(
                usd=Decimal(usd),
                unit=dimension.get("unit", ""),
                description=dimension.get("description", ""),
                sku=product.get("product", {}).get("sku", ""),
                sample=sample,
                source=source,
                source_date=marker.get("source_date") or product.get("publicationDate", "")[:10],
            )
    return None


def instance_terms(location: str, instance_type: str | None = None) -> dict[str, str]:
    """GetProducts terms of a Linux on-demand instance hour (shared tenancy, no pre-installed software);
    without `instance_type`, every instance type of the location."""
    return {
        "location": location,
        **({"instanceType": instance_type} if instance_type else {}),
        "operatingSystem": "Linux",
        "tenancy": "Shared",
        "preInstalledSw": "NA",
        "capacitystatus": "Used",
    }


def gp2_terms(location: str) -> dict[str, str]:
    return {"location": location, "productFamily": "Storage", "volumeApiName": "gp2"}


def carrier_ip_terms(location: str) -> dict[str, str]:
    """UNCONFIRMED on real AWS (wavelength-facts 5.4): the Carrier IP's SKU has not been matched to a bill."""
    return {"location": location, "group": "CarrierIP"}


def public_ipv4_terms(location: str) -> dict[str, str]:
    return {"location": location, "group": "VPCPublicIPv4Address"}
