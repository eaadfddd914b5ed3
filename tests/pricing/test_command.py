"""`manage.py prices_refresh`: what `make run` runs once at start."""

from io import StringIO

from django.core.management import call_command

from pricing.models import Price


def test_prices_refresh_command_fills_the_cache(sandbox, db):
    out = StringIO()
    call_command("prices_refresh", stdout=out)
    assert "Price cache refreshed:" in out.getvalue() and "Morocco (Casablanca)" in out.getvalue()
    assert Price.objects.filter(sample=True).exists()


def test_prices_refresh_command_reports_an_unreachable_endpoint_without_failing(db, settings):
    settings.WLPANEL_AWS_ENDPOINT = "http://127.0.0.1:9"  # nothing listens on the discard port
    err = StringIO()
    call_command("prices_refresh", stderr=err, stdout=StringIO())
    assert "Prices not refreshed" in err.getvalue()
    assert not Price.objects.exists()
