"""The network view stored when a description lands, the detail page's queries, and the API's
`addresses.ssh`: on environments built for real against the sandbox, the engine run in this
process (what the services publish is run in place), pages through Django's test client."""

import time

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from environments import network_view, services
from environments.models import Environment, NetworkView
from environments.provisioning import engine
from environments.provisioning.refresh import environment_describe
from tests.conftest import opt_in_and_wait, origin_of

from .test_views import logged_in

VIEWER = "198.51.100.7"


def run_published(published_tasks, environment, *states, timeout: float = 120) -> Environment:
    """Run what the services and the engine publish, as a worker would, until a state is reached."""
    deadline = time.monotonic() + timeout
    while True:
        environment.refresh_from_db()
        if environment.state in states:
            return environment
        assert time.monotonic() < deadline, f"{environment} stayed {environment.state}"
        if not published_tasks:
            engine.reconcile()
            time.sleep(0.2)
            continue
        name, args = published_tasks.pop(0)
        if name == "environments.advance":
            engine.advance(*args)
        elif name == "environments.run_step":
            engine.run_step(*args)
        time.sleep(0.05)  # a waiting step is published again at once; countdowns are not honoured


@pytest.fixture(autouse=True)
def quick_engine(settings):
    """Countdowns are not honoured here: a step that must wait is sent again by the reconciler,
    after the dispatch grace — keep it short, as the engine's tests do for their workers."""
    settings.WLPANEL_DISPATCH_GRACE_SECONDS = 0.5
    settings.WLPANEL_POLL_SECONDS = 0.5


@pytest.fixture
def ec2(sandbox, zone):
    import boto3

    client = boto3.client(
        "ec2", region_name=zone.region, endpoint_url=sandbox.url, aws_access_key_id="sandbox", aws_secret_access_key="sandbox"
    )
    opt_in_and_wait(client, zone.group_name)
    return client


@pytest.fixture
def build(ec2, make_environment, published_tasks):
    """`build(name, **request fields)`: an environment approved and built for real."""

    def make(name, **fields):
        environment = make_environment(fields.pop("requester"), name=name, **fields)
        environment = run_published(published_tasks, environment, "ready", "failed")
        assert environment.state == "ready", environment.failure_reason
        return environment

    return make


def detail(client, environment, **extra):
    answer = client.get(f"/environments/{environment.pk}/", REMOTE_ADDR=VIEWER, **extra)
    assert answer.status_code == 200
    return answer.content.decode()


def test_the_view_is_stored_when_a_description_lands_and_a_stale_one_is_never_shown(client, alice, build, ec2):
    environment = build("viewed", requester=alice)
    resources = list(environment.resources.order_by("id"))
    stored = NetworkView.objects.get(environment=environment)
    # The build's last description was stored by the worker, at the version the page computes.
    assert stored.version == network_view.view_version(environment, resources)
    assert any(item["allowed"] for item in stored.traffic["items"]) and stored.svg.startswith("<svg")

    # The page shows the stored view (a marker only the stored copy has), it does not compute it.
    NetworkView.objects.filter(pk=stored.pk).update(matrix_html='<svg data-testid="stored-marker"></svg>')
    logged_in(client, alice)
    assert 'data-testid="stored-marker"' in detail(client, environment)

    # A description lands (a refresh after the carrier gateway route was deleted by hand): the
    # worker stores the new view, and the page shows it.
    table = environment.resources.get(key="wavelength_route_table")
    ec2.delete_route(RouteTableId=table.aws_id, DestinationCidrBlock="0.0.0.0/0")
    environment_describe(environment.pk, correlation_id="view-test")
    refreshed = NetworkView.objects.get(environment=environment)
    assert refreshed.version != stored.version
    assert refreshed.version == network_view.view_version(environment, list(environment.resources.order_by("id")))
    content = detail(client, environment)
    assert 'data-testid="stored-marker"' not in content and "<svg" in content

    def carrier_cell(items):
        return next(
            item["allowed"]
            for item in items
            if (item["source"], item["destination"], item["protocol"]) == ("wavelength-instance", "carrier-metro", "tcp")
        )

    assert carrier_cell(stored.traffic["items"]) and not carrier_cell(refreshed.traffic["items"])

    # A description that lands without a view stored (a worker older than this table): the stored
    # one is of another version, so the page computes the view, stores it, and shows that.
    NetworkView.objects.filter(pk=stored.pk).update(matrix_html='<svg data-testid="stale-marker"></svg>')
    item = environment.resources.get(key="wavelength_route_table").described
    item["Routes"].append(
        {"DestinationCidrBlock": "0.0.0.0/0", "CarrierGatewayId": environment.resources.get(key="carrier_gateway").aws_id, "State": "active", "Origin": "CreateRoute"}
    )
    environment.resources.filter(key="wavelength_route_table").update(described=item, described_at=timezone.now())
    content = detail(client, environment)
    assert 'data-testid="stale-marker"' not in content and "<svg" in content
    current = NetworkView.objects.get(environment=environment)
    assert current.version == network_view.view_version(environment, list(environment.resources.order_by("id")))
    assert carrier_cell(current.traffic["items"])


def test_an_environment_without_a_stored_view_gets_one_on_its_first_read(client, alice, build):
    environment = build("old-row", requester=alice)
    NetworkView.objects.filter(environment=environment).delete()  # rows from before the table
    logged_in(client, alice)
    assert 'id="topology"' in detail(client, environment)
    assert NetworkView.objects.get(environment=environment).version == network_view.view_version(
        environment, list(environment.resources.order_by("id"))
    )


def _detail_queries(client, environment) -> int:
    """Queries of a first read: the process's rendering caches emptied, as in a fresh server."""
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        detail(client, environment)
    return len(queries)


def test_detail_page_queries_do_not_grow_with_resources_or_events(client, alice, build, ec2):
    small = build("small", requester=alice, bastion=False)  # fewer resources, fewer AWS calls
    large = build("large", requester=alice, key_name="", bastion_ssh_cidr=f"{VIEWER}/32")
    assert small.resources.count() < large.resources.count()
    logged_in(client, alice)
    detail(client, small)  # the session's first writes are not the page's cost
    counts = [_detail_queries(client, small), _detail_queries(client, large)]
    for _ in range(3):  # more audit rows and AWS calls on the trail, more descriptions landed
        environment_describe(large.pk, correlation_id="more-events")
    counts.append(_detail_queries(client, large))
    assert counts[0] == counts[1] == counts[2], counts
    assert counts[0] <= 25, counts


# --- addresses.ssh ---------------------------------------------------------------------------------


def test_ssh_is_offered_only_when_it_can_work_as_on_the_page(client, alice, bob, build, ec2, published_tasks):
    ec2.create_key_pair(KeyName="alice-laptop")
    environment = build("reach", requester=alice, key_name="alice-laptop", bastion_ssh_cidr=f"{VIEWER}/32")
    logged_in(client, alice)

    def api():
        answer = client.get(f"/api/environments/{environment.pk}", REMOTE_ADDR=VIEWER)
        assert answer.status_code == 200
        return answer.json()["addresses"]

    addresses = api()
    instance = environment.resources.get(key="wavelength_instance").described
    bastion = environment.resources.get(key="bastion").described
    command = f"ssh -J ec2-user@{bastion['PublicIpAddress']} ec2-user@{instance['PrivateIpAddress']}"
    assert addresses["ssh"] == command
    assert command in detail(client, environment)  # the page's connection section offers the same

    # From an address the bastion does not admit: neither the page nor the API offers it.
    outside = client.get(f"/api/environments/{environment.pk}", REMOTE_ADDR="203.0.113.99").json()["addresses"]
    assert "ssh" not in outside and outside["bastion_public_ip"] == bastion["PublicIpAddress"]

    # The instance stopped behind the panel's back: its address is described, nothing answers there.
    ec2.stop_instances(InstanceIds=[instance["InstanceId"]])
    environment_describe(environment.pk, correlation_id="stopped")
    addresses = api()
    assert addresses["instance_state"] in ("stopping", "stopped") and "ssh" not in addresses
    assert 'data-testid="ssh-commands"' not in detail(client, environment)

    # Destroyed: no address, no command.
    services.environment_destroy(origin=origin_of(alice), environment_id=environment.pk, reason="done")
    run_published(published_tasks, environment, "destroyed", "destroy_failed")
    assert environment.state == "destroyed"
    assert api() == {}


def test_no_bastion_or_no_key_pair_means_no_ssh_command(client, alice, build):
    logged_in(client, alice)
    for name, fields in (("no-bastion", {"bastion": False}), ("no-key", {"bastion_ssh_cidr": f"{VIEWER}/32"})):
        environment = build(name, requester=alice, **fields)
        addresses = client.get(f"/api/environments/{environment.pk}", REMOTE_ADDR=VIEWER).json()["addresses"]
        assert "ssh" not in addresses, name
        assert addresses["instance_private_ip"]  # what exists is named; the command is not
        if fields.get("bastion") is False:
            assert addresses["carrier_ip"] and not addresses["bastion_public_ip"]
        assert 'data-testid="ssh-missing"' in detail(client, environment), name
