"""The sandbox's AWS Price List (Pricing) API, in that API's own JSON protocol, from a bundled file.

boto3's ``pricing`` client POSTs ``X-Amz-Target: AWSPriceListService.<Operation>`` with an
``application/x-amz-json-1.1`` body; answers are JSON, errors JSON with ``__type``. Served:
``DescribeServices``, ``GetAttributeValues`` and ``GetProducts`` (filters ``TERM_MATCH``,
``EQUALS``, ``CONTAINS``, ``ANY_OF``, ``NONE_OF``; ``MaxResults``/``NextToken`` paging).

The prices come from ``sandbox/data/prices.json``. Each entry says where it comes from: a URL and
a date (typed from an AWS public pricing page) or ``sample`` (sample data). Each PriceList item
carries that as ``wlpanel`` ``{"sample", "source_url", "source_date"}`` beside AWS's own keys.
"""

import functools
import json
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

from sandbox.awsquery import status_line

TARGET_PREFIX = "AWSPriceListService."
PRICES_FILE = Path(__file__).resolve().parent / "data" / "prices.json"
CONTENT_TYPE = "application/x-amz-json-1.1"
MAX_RESULTS = 100
FILTER_TYPES = ("TERM_MATCH", "EQUALS", "CONTAINS", "ANY_OF", "NONE_OF")


class PricingError(Exception):
    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def handles(environ: dict) -> bool:
    """Whether this request is a Pricing API call (the middleware's dispatch hook)."""
    return environ.get("HTTP_X_AMZ_TARGET", "").startswith(TARGET_PREFIX)


def respond(environ: dict, start_response: Callable) -> Iterable[bytes]:
    """Answer one Pricing API call as a WSGI app."""
    operation = environ.get("HTTP_X_AMZ_TARGET", "")[len(TARGET_PREFIX) :]
    try:
        body = _read_body(environ)
        handler = OPERATIONS.get(operation)
        if handler is None:
            raise PricingError("UnknownOperationException", f"The sandbox's Pricing API has no operation {operation!r}.")
        status, payload = 200, handler(body)
    except PricingError as error:
        status, payload = error.status, {"__type": error.code, "Message": error.message}
    data = json.dumps(payload).encode()
    start_response(
        status_line(status),
        [("Content-Type", CONTENT_TYPE), ("Content-Length", str(len(data))), ("x-amzn-RequestId", str(uuid.uuid4()))],
    )
    return [data]


def _read_body(environ: dict) -> dict:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    raw = environ["wsgi.input"].read(length) if length else b""
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as error:
        raise PricingError("SerializationException", f"The body is not JSON: {error}") from error
    if not isinstance(body, dict):
        raise PricingError("SerializationException", "The body must be a JSON object.")
    return body


@functools.cache
def _catalog() -> dict:
    with PRICES_FILE.open(encoding="utf-8") as handle:
        return json.load(handle)


def _services() -> dict[str, list[str]]:
    return {service["ServiceCode"]: service["AttributeNames"] for service in _catalog()["services"]}


def _service_code(body: dict, *, required: bool = True) -> str | None:
    code = body.get("ServiceCode")
    if code is None:
        if required:
            raise PricingError("InvalidParameterException", "ServiceCode is required.")
        return None
    if code not in _services():
        raise PricingError("NotFoundException", f"Service {code!r} is not in the price list.")
    return code


def _page(items: list, body: dict) -> tuple[list, str | None]:
    size = body.get("MaxResults", MAX_RESULTS)
    if not isinstance(size, int) or not 1 <= size <= MAX_RESULTS:
        raise PricingError("InvalidParameterException", f"MaxResults must be between 1 and {MAX_RESULTS}.")
    token = body.get("NextToken")
    start = 0
    if token is not None:
        try:
            start = int(token)
        except (TypeError, ValueError):
            raise PricingError("InvalidNextTokenException", "The NextToken is not valid.") from None
        if not 0 <= start <= len(items):
            raise PricingError("InvalidNextTokenException", "The NextToken is not valid.")
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


def describe_services(body: dict) -> dict:
    code = _service_code(body, required=False)
    services = [
        {"ServiceCode": name, "AttributeNames": names}
        for name, names in _services().items()
        if code is None or name == code
    ]
    page, token = _page(services, body)
    return {"Services": page, "FormatVersion": "aws_v1", **({"NextToken": token} if token else {})}


def get_attribute_values(body: dict) -> dict:
    code = _service_code(body)
    name = body.get("AttributeName")
    if not name:
        raise PricingError("InvalidParameterException", "AttributeName is required.")
    if name not in _services()[code]:
        raise PricingError("NotFoundException", f"Service {code} has no attribute {name!r}.")
    values = sorted(
        {
            product["attributes"][name]
            for product in _catalog()["products"]
            if product["attributes"].get("servicecode") == code and name in product["attributes"]
        }
    )
    page, token = _page([{"Value": value} for value in values], body)
    return {"AttributeValues": page, **({"NextToken": token} if token else {})}


def get_products(body: dict) -> dict:
    code = _service_code(body)
    filters = body.get("Filters") or []
    if not isinstance(filters, list):
        raise PricingError("InvalidParameterException", "Filters must be a list.")
    for item in filters:
        if not isinstance(item, dict) or item.get("Type") not in FILTER_TYPES or not item.get("Field"):
            raise PricingError("InvalidParameterException", f"Each filter needs a Type ({', '.join(FILTER_TYPES)}), a Field and a Value.")
        if not isinstance(item.get("Value"), str):
            raise PricingError("InvalidParameterException", "A filter's Value must be a string.")
    matching = [
        product
        for product in _catalog()["products"]
        if product["attributes"].get("servicecode") == code and all(_matches(product, item) for item in filters)
    ]
    page, token = _page(matching, body)
    return {
        "FormatVersion": body.get("FormatVersion", "aws_v1"),
        "PriceList": [json.dumps(_price_list_item(product)) for product in page],
        **({"NextToken": token} if token else {}),
    }


def _matches(product: dict, item: dict) -> bool:
    field = item["Field"]
    value = product[field] if field in ("sku", "productFamily") else product["attributes"].get(field)
    wanted = item["Value"]
    kind = item["Type"]
    if kind in ("TERM_MATCH", "EQUALS"):
        return value is not None and value.lower() == wanted.lower()
    if kind == "CONTAINS":
        return value is not None and wanted.lower() in value.lower()
    choices = {choice.strip().lower() for choice in wanted.split(",")}
    if kind == "ANY_OF":
        return value is not None and value.lower() in choices
    return value is None or value.lower() not in choices  # NONE_OF


def _price_list_item(product: dict) -> dict:
    """One product as AWS's PriceList JSON (product, on-demand terms), with where its price comes from."""
    sku = product["sku"]
    term = f"{sku}.JRTCKXETXF"
    published = _catalog()["publication_date"]
    source = product["source"]
    return {
        "product": {"productFamily": product["productFamily"], "attributes": product["attributes"], "sku": sku},
        "serviceCode": product["attributes"]["servicecode"],
        "terms": {
            "OnDemand": {
                term: {
                    "priceDimensions": {
                        f"{term}.6YS6EN2CT7": {
                            "unit": product["unit"],
                            "endRange": "Inf",
                            "description": product["description"],
                            "appliesTo": [],
                            "rateCode": f"{term}.6YS6EN2CT7",
                            "beginRange": "0",
                            "pricePerUnit": {"USD": product["usd"]},
                        }
                    },
                    "sku": sku,
                    "effectiveDate": published,
                    "offerTermCode": "JRTCKXETXF",
                    "termAttributes": {},
                }
            }
        },
        "version": published[:10].replace("-", ""),
        "publicationDate": published,
        "wlpanel": {
            "sample": source == "sample",
            "source_url": "" if source == "sample" else source["url"],
            "source_date": "" if source == "sample" else source["date"],
        },
    }


OPERATIONS: dict[str, Callable[[dict], dict]] = {
    "DescribeServices": describe_services,
    "GetAttributeValues": get_attribute_values,
    "GetProducts": get_products,
}
