"""Prices from the AWS Price List API, cached with their date; refreshed daily by beat."""

from django.db import models

from .choices import PricedKind


class PriceLocation(models.Model):
    """A Price List `location` the panel needs, and whether AWS listed it at the last refresh.

    A location AWS does not list in `GetAttributeValues(AmazonEC2, location)` gets no prices: its
    zones are shown "no price".
    """

    location = models.CharField(max_length=128, unique=True)
    listed = models.BooleanField(default=False)
    checked_at = models.DateTimeField()

    class Meta:
        ordering = ["location"]

    def __str__(self):
        return self.location


class Price(models.Model):
    location = models.CharField(max_length=128)
    kind = models.CharField(max_length=16, choices=PricedKind.choices)
    instance_type = models.CharField(max_length=32, blank=True)
    usd = models.DecimalField(max_digits=14, decimal_places=8, help_text="USD per unit.")
    unit = models.CharField(max_length=16)
    description = models.CharField(max_length=300, blank=True)
    sku = models.CharField(max_length=64, blank=True)
    sample = models.BooleanField(default=False, help_text="Sample data, not a price from AWS.")
    source = models.CharField(max_length=300, help_text="A URL, 'AWS Price List API' or 'sample data'.")
    source_date = models.CharField(max_length=32, blank=True)
    refreshed_at = models.DateTimeField()

    class Meta:
        ordering = ["location", "kind", "instance_type"]
        constraints = [
            models.UniqueConstraint(fields=["location", "kind", "instance_type"], name="one_price_per_location_kind_type")
        ]

    def __str__(self):
        return f"{self.location} {self.kind} {self.instance_type}".strip()
