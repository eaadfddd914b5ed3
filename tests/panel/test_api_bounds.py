"""Input bounds (issue 14, finding 5): each one refused with a 400 naming the field, nothing
created, and stated in the OpenAPI document."""

import pytest

from environments import validation
from environments.models import Environment, EnvironmentRequest

from .test_api import BODY, Api

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"purpose": "p" * (validation.PURPOSE_MAX + 1)}, "purpose", "at most 500"),
        ({"key_name": "k" * (validation.KEY_NAME_MAX + 1)}, "key_name", "at most 255"),
        ({"key_name": "ключ"}, "key_name", "printable ASCII"),
        ({"image_id": "ami-" + "0" * 40}, "image_id", "at most 21"),
        ({"image_id": "ami-xyz"}, "image_id", "AMI id"),
        ({"name": "n" * 41}, "name", "at most 40"),
        ({"name": "Edge_1"}, "name", "lowercase letters"),
        ({"purpose": "nul\x00here"}, "purpose", "NUL"),
        ({"key_name": "a\x00"}, "key_name", "printable ASCII"),
        ({"team": "demo\x00"}, "team", "slug"),
        ({"vpc_cidr": "10.0.0.0/255.255.0.0"}, "vpc_cidr", "write the prefix length instead, 10.0.0.0/16"),
        ({"bastion_ssh_cidr": "198.51.100.0/255.255.255.0"}, "bastion_ssh_cidr", "198.51.100.0/24"),
        ({"wavelength_subnet_cidr": "10.0.0.5/24"}, "wavelength_subnet_cidr", "host bits"),
        ({"vpc_cidr": "10.0.0.0/16\x00"}, "vpc_cidr", "not an IPv4 CIDR"),
        ({"ttl_hours": 10**12}, "ttl_hours", "less than or equal to 87600"),
        ({"wavelength_ingress": [{"protocol": "tcp", "ports": "22"}] * 2000}, "wavelength_ingress", "at most 8"),
        ({"wavelength_ingress": [{"protocol": "tcp", "ports": ",".join(["1"] * 60)}]}, "wavelength_ingress", "At most 50"),
        ({"wavelength_ingress": [{"protocol": "sctp"}]}, "wavelength_ingress.0.protocol", "tcp"),
    ],
)
def test_request_bounds_are_400_naming_the_field(alice, zone, team, changes, field, words):
    response = Api(alice).post("/requests", {**BODY, **changes})
    body = response.json()
    assert response.status_code == 400 and set(body) == {"detail", "errors"}, body
    assert any(words in message for message in body["errors"][field]), body["errors"]
    assert not EnvironmentRequest.objects.exists()


def test_the_longest_accepted_values_are_accepted(alice, zone, team):
    body = {
        **BODY,
        "name": "a" * validation.NAME_MAX,
        "purpose": "p" * validation.PURPOSE_MAX,
        "key_name": "k" * validation.KEY_NAME_MAX,
        "image_id": "ami-0123456789abcdef0",
        "wavelength_ingress": [{"protocol": "tcp", "ports": ",".join(str(p) for p in range(1, 51))}],
    }
    response = Api(alice).post("/requests", body)
    assert response.status_code == 201, response.json()
    assert EnvironmentRequest.objects.get().purpose == "p" * validation.PURPOSE_MAX


def test_extend_hours_are_bounded(alice, make_environment):
    environment = make_environment(alice)
    for hours in (10**12, 1e12, validation.EXTEND_HOURS_MAX + 1):
        response = Api(alice).post(f"/environments/{environment.pk}/extend", {"hours": hours})
        assert response.status_code == 400 and response.json()["errors"]["hours"], hours
    # Within the absolute bound but past the team's maximum: the team's rule speaks.
    response = Api(alice).post(f"/environments/{environment.pk}/extend", {"hours": validation.EXTEND_HOURS_MAX})
    assert response.status_code == 400 and "allows at most" in response.json()["errors"]["hours"][0]
    assert Environment.objects.get().expires_at == environment.expires_at


def test_comments_reasons_filters_and_ids_are_bounded(alice, bob, make_request, make_environment):
    request = make_request(alice)
    environment = make_environment(alice, name="env")
    approver = Api(bob)
    long_comment = {"comment": "c" * (validation.COMMENT_MAX + 1), "plan_hash": request.plan_hash}
    assert approver.post(f"/requests/{request.pk}/approve", long_comment).json()["errors"]["comment"]
    assert approver.post(f"/requests/{request.pk}/reject", {"comment": "\x00"}).json()["errors"]["comment"]
    assert approver.post(f"/environments/{environment.pk}/destroy", {"reason": "r" * 501}).json()["errors"]["reason"]
    assert approver.get("/environments", {"name": "a\x00"}).json()["errors"]["name"]
    assert approver.get("/environments", {"state": "nonsense"}).status_code == 400
    assert approver.get("/requests", {"state": "pending\x00"}).status_code == 400
    assert approver.get(f"/requests/{2**63}").json()["errors"]["request_id"]
    assert approver.get("/audit/events", {"q": "x" * 201}).json()["errors"]["q"]
    assert approver.get("/audit/events", {"environment": str(2**63)}).status_code == 400
    assert EnvironmentRequest.objects.get(pk=request.pk).state == "pending"
    assert Environment.objects.get(pk=environment.pk).state == "provisioning"


def test_audit_filters_far_dates_and_odd_cursors_are_no_server_error(carol, client):
    auditor = Api(carol)
    assert auditor.get("/audit/events", {"until": "9999-12-31"}).status_code == 200
    assert auditor.get("/audit/events", {"since": "0001-01-01", "until": "9999-12-31T23:59:59"}).status_code == 200
    client.force_login(carol)
    for query in ({"before": "²"}, {"after": "9" * 40}, {"date": "9999-12-31"}, {"q": "a\x00"}, {"until": "9999-12-31"}):
        assert client.get("/audit/", query).status_code == 200, query


def test_openapi_states_the_bounds_and_every_status_code(client):
    document = client.get("/api/openapi.json").json()
    schemas = document["components"]["schemas"]
    request_in = schemas["RequestIn"]["properties"]
    assert request_in["purpose"]["maxLength"] == validation.PURPOSE_MAX
    assert request_in["name"]["pattern"] == validation.NAME_PATTERN and request_in["name"]["maxLength"] == 40
    assert request_in["vpc_cidr"]["pattern"] == validation.CIDR_PATTERN
    ingress = request_in["wavelength_ingress"]["anyOf"][0]
    assert ingress["maxItems"] == validation.INGRESS_RULES_MAX
    assert request_in["ttl_hours"]["anyOf"][0]["maximum"] == validation.TTL_HOURS_MAX
    assert schemas["ExtendIn"]["properties"]["hours"] == {
        "description": "At most the team's maximum from now.", "maximum": validation.EXTEND_HOURS_MAX, "minimum": 1,
        "title": "Hours", "type": "integer",
    }
    assert schemas["ApproveIn"]["required"] == ["plan_hash"]
    assert document["components"]["securitySchemes"]["PanelAuth"] | {"description": ""} == {
        "type": "http", "scheme": "bearer", "description": "",
    }
    assert document["paths"]["/api/teams"]["get"]["security"] == [{"PanelAuth": []}]
    assert set(schemas["ErrorOut"]["required"]) == {"detail", "errors"}
    operations = {
        (path, method): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    for (path, method), operation in operations.items():
        codes = set(operation["responses"])
        assert {"401", "503"} <= codes, (path, method)
        if operation.get("parameters") or operation.get("requestBody"):
            assert "400" in codes, (path, method)
        for code in codes - {"200", "201", "202"}:
            schema = operation["responses"][code]["content"]["application/json"]["schema"]["$ref"]
            assert schema.endswith(("/ErrorOut", "/PlanConflictOut")), (path, method, code)
    approve = operations[("/api/requests/{request_id}/approve", "post")]["responses"]
    assert {"400", "401", "403", "404", "409", "503"} <= set(approve)
    assert approve["409"]["content"]["application/json"]["schema"]["$ref"].endswith("/PlanConflictOut")
    assert approve["400"]["description"].startswith("Bad input") and "token" in approve["401"]["description"]
    assert {"400", "401", "403", "404", "409", "503"} <= set(operations[("/api/environments/{environment_id}/destroy", "post")]["responses"])


def test_reject_and_cancel_check_a_plan_hash_when_given(alice, bob, make_request):
    first, second = make_request(alice, name="one"), make_request(alice, name="two")
    response = Api(bob).post(f"/requests/{first.pk}/reject", {"plan_hash": "e" * 64})
    assert response.status_code == 409 and response.json()["plan_hash"] == first.plan_hash
    assert Api(bob).post(f"/requests/{first.pk}/reject", {"plan_hash": first.plan_hash}).json()["state"] == "rejected"
    assert Api(alice).post(f"/requests/{second.pk}/cancel", {"plan_hash": "e" * 64}).status_code == 409
    assert EnvironmentRequest.objects.get(pk=second.pk).state == "pending"
