"""Reads of the price cache: the cost estimate of a plan, of a request and of an environment."""

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from netmodel.zones import price_locations, region_price_locations
from wlpanel.compiled_query import AnyOf, CompiledQuery

from . import estimate as estimates
from .models import Price

PRICE_FIELDS = ("location", "kind", "instance_type", "usd", "unit", "sample", "source", "refreshed_at")

Price._meta.get_field("location").register_lookup(AnyOf)

# A plan's zone and Region, read by every detail page: compiled once per process (wlpanel.compiled_query).
_AT_LOCATIONS = CompiledQuery(
    lambda locations: Price.objects.filter(location__any_of=locations).values_list(*PRICE_FIELDS, named=True),
    locations=list[str],
)


class PriceBook:
    """The price cache read once (one query, a few hundred rows), for pricing many plans: a list
    page prices every row from one book, so its query count does not grow with the rows."""

    def __init__(self, locations: tuple[str, ...] | None = None):
        self._locations = locations  # None: every location's prices
        self._table: estimates.PriceTable | None = None
        self._dates: dict[str, datetime] = {}

    def _load(self) -> estimates.PriceTable:
        if self._table is None:
            self._table = {}
            for row in self._rows():
                self._table[(row.location, row.kind, row.instance_type)] = {
                    "usd": Decimal(row.usd),
                    "unit": row.unit,
                    "sample": row.sample,
                    "source": row.source,
                }
                known = self._dates.get(row.location)
                self._dates[row.location] = min(known, row.refreshed_at) if known else row.refreshed_at
        return self._table

    def _rows(self):
        if self._locations is None:
            return Price.objects.values_list(*PRICE_FIELDS, named=True)
        return _AT_LOCATIONS.all(locations=self._locations)

    def cost(self, plan: dict, *, hours: float) -> dict:
        """The estimate of a plan document for `hours` (the `cost` of DESIGN section 6)."""
        table = self._load()
        spec = plan.get("spec", {})
        zone_location = price_locations().get(spec.get("zone", ""))
        region_location = region_price_locations().get(spec.get("region", ""))
        dates = [self._dates[location] for location in (zone_location, region_location) if location in self._dates]
        cost = estimates.estimate(
            plan,
            hours=hours,
            zone_location=zone_location,
            region_location=region_location,
            prices=table,
            as_of=min(dates).isoformat() if dates else None,
        )
        cost["location"] = zone_location
        return cost


def plan_cost(plan: dict, *, hours: float, book: PriceBook | None = None) -> dict:
    """The estimate of a plan document for `hours` (the `cost` of DESIGN section 6); without a
    book, from the prices of the plan's zone and Region only."""
    if book is None:
        spec = plan.get("spec", {})
        locations = (price_locations().get(spec.get("zone", "")), region_price_locations().get(spec.get("region", "")))
        book = PriceBook(locations=tuple(location for location in locations if location))
    return book.cost(plan, hours=hours)


def environment_cost(*, plan: dict, created_at: datetime, expires_at: datetime, ended_at: datetime | None, now=None) -> dict:
    """An environment's estimate: what it has cost so far and what it will cost until it expires."""
    now = now or timezone.now()
    end = ended_at or now
    remaining = 0.0 if ended_at else max((expires_at - now).total_seconds() / 3600, 0.0)
    cost = plan_cost(plan, hours=round(remaining, 2))
    elapsed = max((end - created_at).total_seconds() / 3600, 0.0)
    cost["so_far"] = round(cost["hourly"] * elapsed, 2) if cost["hourly"] is not None else None
    cost["per_day"] = round(cost["hourly"] * 24, 2) if cost["hourly"] is not None else None  # what extending adds
    return cost


def extension_cost(*, plan: dict, hours: int) -> float | None:
    """What extending an environment by `hours` adds."""
    return plan_cost(plan, hours=hours)["to_expiry"]
