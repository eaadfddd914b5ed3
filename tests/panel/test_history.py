"""A destroyed (or destroying) environment shows what it was, never as something live."""

import pytest

from environments.models import Resource

from .conftest import describe_instances, describe_route_tables

pytestmark = pytest.mark.django_db


def _built(environment):
    describe_route_tables(environment)
    describe_instances(environment)
    environment.state = "ready"
    environment.save()


def _destroyed(environment):
    environment.resources.update(state="deleted")
    environment.state = "destroyed"
    environment.orphans = []
    environment.save()


def test_a_destroyed_environment_page_shows_history_not_a_live_environment(client, alice, make_environment):
    environment = make_environment(alice)
    _built(environment)
    client.force_login(alice)
    live = client.get(f"/environments/{environment.pk}/").content.decode()
    assert 'data-testid="carrier-ip"' in live and 'id="connect"' in live and 'class="compact matrix"' in live

    _destroyed(environment)
    page = client.get(f"/environments/{environment.pk}/").content.decode()
    assert 'data-testid="carrier-ip"' not in page and "155.146.1.2" not in page
    assert 'id="connect"' not in page
    assert 'class="compact matrix"' not in page and 'data-testid="traffic-history"' in page
    assert "Everything in AWS matches" not in page and 'data-testid="drift-history"' in page
    assert ">active<" not in page  # the route tables' routes are history too


def test_while_it_is_being_destroyed_nothing_looks_reachable(client, alice, make_environment):
    environment = make_environment(alice)
    _built(environment)
    environment.state = "destroying"
    environment.save()
    client.force_login(alice)
    page = client.get(f"/environments/{environment.pk}/").content.decode()
    assert "155.146.1.2" not in page and 'id="connect"' not in page and 'class="compact matrix"' not in page


def test_the_api_says_every_resource_is_gone_and_its_traffic_is_gone_too(client, alice, make_environment):
    environment = make_environment(alice)
    _built(environment)
    client.force_login(alice)
    assert client.get(f"/api/environments/{environment.pk}/traffic").status_code == 200

    _destroyed(environment)
    detail = client.get(f"/api/environments/{environment.pk}").json()
    assert detail["state"] == "destroyed"
    assert {resource["state"] for resource in detail["resources"]} == {"gone"}
    assert len(detail["resources"]) == Resource.objects.filter(environment=environment).count()
    assert detail["addresses"] == {}
    traffic = client.get(f"/api/environments/{environment.pk}/traffic")
    assert traffic.status_code == 410
    assert "destroyed" in traffic.json()["detail"]
