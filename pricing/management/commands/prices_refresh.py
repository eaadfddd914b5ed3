"""Refresh the price cache now (beat does it daily; `make run` does it once at start)."""

from django.core.management.base import BaseCommand

from audit.choices import Source
from audit.context import Origin
from aws.client import AwsError
from pricing.services import prices_refresh


class Command(BaseCommand):
    help = "Refresh the price cache from the AWS Price List API (or the sandbox's). Never fails the caller: without prices, estimates say 'no price'."

    def handle(self, *args, **options):
        try:
            summary = prices_refresh(origin=Origin.system(Source.SHELL))
        except AwsError as error:
            self.stderr.write(f"Prices not refreshed ({error}); estimates show 'no price' until beat's daily refresh works.")
            return
        unlisted = ", ".join(summary["unlisted"]) or "none"
        self.stdout.write(
            f"Price cache refreshed: {summary['prices']} prices ({summary['sample']} sample data) for "
            f"{summary['locations']} locations; not listed by AWS: {unlisted}."
        )
