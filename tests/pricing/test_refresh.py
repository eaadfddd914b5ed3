"""The price cache: refreshed from the sandbox's Pricing API over HTTP; estimates on pages and API."""

import pytest
from django.utils import timezone

from audit.choices import Source
from audit.models import AuditEvent
from environments import services
from environments.provisioning.plan import plan_hash
from pricing.models import Price, PriceLocation
from pricing.selectors import plan_cost
from pricing.services import prices_refresh
from tests.conftest import origin_of

SFO_LOCATION = "US West (Verizon) - San Francisco Bay Area"


@pytest.fixture
def refreshed(sandbox, db):
    from audit.context import Origin

    return prices_refresh(origin=Origin.system(Source.BEAT))


def test_refresh_caches_prices_with_their_date_and_source(refreshed):
    medium = Price.objects.get(location=SFO_LOCATION, kind="instance", instance_type="t3.medium")
    assert medium.usd > 0 and medium.unit == "Hrs" and medium.sample and medium.source == "sample data"
    assert (timezone.now() - medium.refreshed_at).total_seconds() < 3600
    assert Price.objects.filter(location="US West (Oregon)", kind="public_ipv4").exists()
    assert Price.objects.filter(location=SFO_LOCATION, kind="carrier_ip").exists()
    # Casablanca's location is not listed by GetAttributeValues(location): no prices, shown "no price".
    casablanca = PriceLocation.objects.get(location="Morocco (Casablanca)")
    assert casablanca.listed is False and not Price.objects.filter(location=casablanca.location).exists()
    event = AuditEvent.objects.filter(action="prices.refreshed").latest("id")
    assert "Morocco (Casablanca)" in event.details["unlisted"] and event.details["prices"] == refreshed["prices"]


def test_estimate_from_the_cache_changes_with_instance_type_and_ttl(refreshed, make_request, alice):
    small = make_request(alice, name="edge-small", instance_type="t3.medium", ttl_hours=24)
    big = make_request(alice, name="edge-big", instance_type="t3.xlarge", ttl_hours=24)
    longer = make_request(alice, name="edge-long", instance_type="t3.medium", ttl_hours=96)
    small_cost = plan_cost(small.plan, hours=small.ttl_hours)
    assert small_cost["hourly"] > 0 and small_cost["sample"] is True and small_cost["as_of"]
    assert plan_cost(big.plan, hours=big.ttl_hours)["hourly"] > small_cost["hourly"]
    assert plan_cost(longer.plan, hours=longer.ttl_hours)["to_expiry"] > small_cost["to_expiry"]


def test_a_price_refresh_changes_no_plan_hash(sandbox, db, make_request, alice, team, zone, client):
    from audit.context import Origin

    request = make_request(alice, name="edge-hash")
    fields = services.request_fields(name="edge-preview", instance_type="t3.medium")
    _, preview_before = services.request_plan_preview(team=team, zone=zone, fields=fields)
    assert plan_cost(request.plan, hours=72)["hourly"] is None  # nothing cached yet

    prices_refresh(origin=Origin.system(Source.BEAT))
    Price.objects.filter(kind="instance").update(usd=1)  # and prices moving afterwards
    prices_refresh(origin=Origin.system(Source.BEAT))

    request.refresh_from_db()
    assert plan_cost(request.plan, hours=72)["hourly"] > 0
    assert plan_hash(request.plan) == request.plan_hash
    assert services.request_plan_preview(team=team, zone=zone, fields=fields)[1] == preview_before
    client.force_login(alice)
    answer = client.get(f"/api/requests/{request.pk}").json()
    assert answer["plan_hash"] == request.plan_hash and answer["cost"]["hourly"] > 0


def test_request_and_approval_pages_show_the_estimate_with_sample_prices_labelled(refreshed, make_request, alice, bob, client):
    request = make_request(alice, name="edge-page")
    client.force_login(bob)
    page = client.get(f"/requests/{request.pk}/").content.decode()
    assert 'data-testid="cost-hourly"' in page and 'data-testid="sample-prices"' in page
    assert "usage-dependent" in page


def test_preview_shows_the_estimate(refreshed, alice, zone, client, team):
    client.force_login(alice)
    page = client.post(
        "/requests/new/preview/",
        {"team": team.slug, "name": "edge-pre", "zone": zone.name, "instance_type": "t3.medium", "bastion": "yes", "ttl_hours": 24,
         "vpc_cidr": "10.0.0.0/16", "public_subnet_cidr": "10.0.1.0/24", "wavelength_subnet_cidr": "10.0.0.0/24", "ingress_mode": "all"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert 'data-testid="plan-hash"' in page, page[:2000]
    assert 'data-testid="cost-to-expiry"' in page and "sample prices" in page


def test_api_request_answer_carries_cost(refreshed, make_request, alice, client):
    request = make_request(alice, name="edge-api", source=Source.API)
    client.force_login(alice)
    cost = client.get(f"/api/requests/{request.pk}").json()["cost"]
    assert cost["currency"] == "USD" and cost["location"] == SFO_LOCATION
    assert {"resource", "hourly", "source"} <= set(cost["items"][0])
    assert any(item["source"] == "usage-dependent" for item in cost["items"])
    assert origin_of  # the helper stays importable for the policy tests


def test_environment_page_shows_cost_so_far_to_expiry_and_what_extending_adds(refreshed, make_environment, alice, client):
    environment = make_environment(alice, name="edge-env", ttl_hours=48)
    client.force_login(alice)
    page = client.get(f"/environments/{environment.pk}/").content.decode()
    assert 'data-testid="cost-so-far"' in page and 'data-testid="cost-to-expiry"' in page
    assert 'data-testid="extend-cost"' in page
    answer = client.post(f"/environments/{environment.pk}/extend/", {"hours": 24}, follow=True)
    assert "The extension adds an estimated $" in answer.content.decode()
