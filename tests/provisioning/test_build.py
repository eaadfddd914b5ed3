"""The seed's build end to end: real workers, the sandbox over HTTP, PostgreSQL; then teardown."""

import pytest

from audit.models import AuditEvent, AwsCall
from notify.models import Notification

from .conftest import assert_matches_inventory, wait_for_state

pytestmark = pytest.mark.workers


def test_build_matches_the_plan_then_teardown_leaves_nothing(engine_worker, make_environment, control, alice):
    engine_worker()
    environment = make_environment("seed")
    wait_for_state(environment, "ready", "failed")
    assert environment.state == "ready", environment.failure_reason
    assert environment.ready_at is not None

    assert_matches_inventory(environment, control)
    resources = {resource.key: resource for resource in environment.resources.all()}
    assert all(resource.described and resource.described_at for resource in resources.values())
    assert all(resource.started_at and resource.finished_at for resource in resources.values())
    # The Wavelength route table sends 0.0.0.0/0 to the carrier gateway and serves the WL subnet.
    table = resources["wavelength_route_table"].described
    carrier_gateway_id = resources["carrier_gateway"].aws_id
    assert {"DestinationCidrBlock": "0.0.0.0/0", "CarrierGatewayId": carrier_gateway_id}.items() <= next(
        route for route in table["Routes"] if route.get("DestinationCidrBlock") == "0.0.0.0/0"
    ).items()
    assert any(a.get("SubnetId") == resources["wavelength_subnet"].aws_id for a in table["Associations"])
    # The Carrier IP is associated with the Wavelength instance's network interface.
    address = resources["carrier_ip"].described
    assert address["AssociationId"] and address.get("CarrierIp")
    assert address["NetworkInterfaceId"] == resources["wavelength_instance"].described["NetworkInterfaces"][0]["NetworkInterfaceId"]
    assert resources["carrier_ip"].progress["association_id"] == address["AssociationId"]
    # The VPC's description carries its network ACLs for the traffic matrix.
    assert resources["vpc"].described["NetworkAcls"]
    # The bastion has a public IP (the Wavelength instance reaches out through its Carrier IP).
    assert resources["bastion"].described.get("PublicIpAddress")

    # Every AWS call is logged against the environment; mutating ones are audited too.
    calls = AwsCall.objects.filter(environment_id=environment.pk)
    assert calls.filter(operation="RunInstances", outcome="ok").count() == 2
    tokens = {call.params["ClientToken"] for call in calls.filter(operation="RunInstances")}
    assert tokens == {resources["bastion"].client_token, resources["wavelength_instance"].client_token}
    assert AuditEvent.objects.filter(environment_id=environment.pk, action="aws.CreateVpc", source="worker").exists()
    ready = AuditEvent.objects.get(environment_id=environment.pk, action="environment.ready")
    assert ready.source == "worker" and ready.correlation_id == environment.correlation_id
    assert Notification.objects.filter(user=alice, verb="environment.ready", link=f"/environments/{environment.pk}/").exists()

    from environments.services import environment_destroy
    from tests.conftest import origin_of

    environment_destroy(origin=origin_of(alice), environment_id=environment.pk)
    wait_for_state(environment, "destroyed", "destroy_failed")
    assert environment.state == "destroyed"
    assert control.inventory(environment.pk) == []
    assert AuditEvent.objects.filter(environment_id=environment.pk, action="environment.destroyed").exists()


def test_build_without_bastion_has_only_the_wavelength_side(engine_worker, make_environment, control):
    engine_worker()
    environment = make_environment("edge-only", bastion=False)
    wait_for_state(environment, "ready", "failed")
    assert environment.state == "ready", environment.failure_reason
    assert_matches_inventory(environment, control)
    assert not environment.resources.filter(key__in=["bastion", "internet_gateway"]).exists()
