"""The rules the pages and the API both rely on, at the service layer they share."""

import pytest
from django.http import Http404

from environments import services
from environments.exceptions import Conflict, PermissionDenied, ValidationError
from environments.models import Environment
from tests.conftest import origin_of

pytestmark = pytest.mark.django_db


def test_nobody_approves_their_own_request(alice, make_request):
    request = make_request(alice)
    with pytest.raises(PermissionDenied):
        services.environment_request_approve(origin=origin_of(alice), request_id=request.pk, plan_hash=request.plan_hash)


def test_members_and_other_teams_cannot_decide(alice, make_user, team, mallory, make_request):
    dave = make_user("dave", team=team, role="member")
    request = make_request(alice)
    with pytest.raises(PermissionDenied):
        services.environment_request_approve(origin=origin_of(dave), request_id=request.pk, plan_hash=request.plan_hash)
    with pytest.raises(Http404):
        services.environment_request_approve(origin=origin_of(mallory), request_id=request.pk, plan_hash=request.plan_hash)


def test_approval_binds_to_the_plan_hash_and_happens_once(alice, bob, erin, make_request):
    request = make_request(alice)
    with pytest.raises(Conflict):
        services.environment_request_approve(origin=origin_of(bob), request_id=request.pk, plan_hash="0" * 64)
    environment = services.environment_request_approve(origin=origin_of(bob), request_id=request.pk, plan_hash=request.plan_hash)
    assert environment.state == "provisioning" and environment.resources.count() == len(request.plan["steps"])
    with pytest.raises(Conflict):
        services.environment_request_approve(origin=origin_of(erin), request_id=request.pk, plan_hash=request.plan_hash)
    with pytest.raises(ValidationError):  # no hash, no approval, on every path
        services.environment_request_approve(origin=origin_of(erin), request_id=request.pk, plan_hash="")


def test_only_the_requester_cancels(alice, bob, make_request):
    request = make_request(alice)
    with pytest.raises(PermissionDenied):
        services.environment_request_cancel(origin=origin_of(bob), request_id=request.pk)
    assert services.environment_request_cancel(origin=origin_of(alice), request_id=request.pk).state == "cancelled"


def test_destroy_and_extend_rules(alice, bob, make_user, team, make_environment):
    dave = make_user("dave", team=team, role="member")
    environment = make_environment(alice)
    with pytest.raises(PermissionDenied):
        services.environment_destroy(origin=origin_of(dave), environment_id=environment.pk)
    with pytest.raises(ValidationError) as excinfo:
        services.environment_extend(origin=origin_of(alice), environment_id=environment.pk, hours=10_000)
    assert "hours" in excinfo.value.message_dict
    services.environment_destroy(origin=origin_of(bob), environment_id=environment.pk)
    assert Environment.objects.get(pk=environment.pk).state == "destroying"
    with pytest.raises(Conflict):
        services.environment_destroy(origin=origin_of(alice), environment_id=environment.pk)


def test_request_errors_cover_every_field_rule(alice, team, zone, make_request):
    make_request(alice, name="taken")
    fields = services.request_fields(
        name="taken",
        instance_type="x9.huge",
        vpc_cidr="10.0.0.0/8",
        public_subnet_cidr="192.168.0.0/24",
        wavelength_subnet_cidr="10.0.0.0/30",
        ttl_hours=team.max_ttl_hours + 1,
        wavelength_ingress=[{"protocol": "gre", "ports": None}],
    )
    errors = services.request_errors(team=team, zone=zone, fields=fields)
    assert set(errors) == {
        "name", "instance_type", "vpc_cidr", "public_subnet_cidr", "wavelength_subnet_cidr", "ttl_hours", "wavelength_ingress",
    }
    zone.opt_in_status = "not-opted-in"
    assert "zone" in services.request_errors(team=team, zone=zone, fields=fields)
