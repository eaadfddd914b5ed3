"""The JSON API (docs/api.md): auth, shapes, pagination, the same rules as the pages."""

import io
import threading

import pytest
from django.core.management import call_command
from django.test import Client

from accounts.choices import TeamRole
from accounts.services import api_token_issue
from audit.models import AuditEvent
from environments.models import Environment, EnvironmentRequest, Zone

from .conftest import describe_route_tables

pytestmark = pytest.mark.django_db

BODY = {"name": "edge-api", "team": "demo", "zone": "us-west-2-wl1-sfo-wlz-1", "instance_type": "t3.medium"}


class Api:
    """A client that speaks JSON with a bearer token."""

    def __init__(self, user):
        self.client = Client()
        self.token = api_token_issue(user=user) if user is not None else None

    def _headers(self):
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}

    def get(self, path, params=None):
        return self.client.get(f"/api{path}", params or {}, **self._headers())

    def post(self, path, body=None):
        data = {} if body is None else body
        return self.client.post(f"/api{path}", data, content_type="application/json", **self._headers())


@pytest.fixture
def api():
    return Api


@pytest.fixture
def fake_opt_in(monkeypatch):
    """Stand-in for the engine's `zone_group_opt_in` (AWS itself is the engine's tests' business)."""
    calls = []

    def zone_group_opt_in(*, origin, group, account=None):
        calls.append((origin, group))
        Zone.objects.filter(group_name=group).update(opt_in_status="opt-in-requested")
        return list(Zone.objects.filter(group_name=group))

    monkeypatch.setattr("environments.provisioning.zones.zone_group_opt_in", zone_group_opt_in)
    return calls


# --- Auth -----------------------------------------------------------------------------------------


def test_no_credentials_is_401(client):
    response = client.get("/api/teams")
    assert response.status_code == 401 and set(response.json()) == {"detail", "errors"}


def test_a_bad_token_is_401(client, alice):
    assert client.get("/api/teams", HTTP_AUTHORIZATION="Bearer wlp_nope").status_code == 401


def test_issue_token_prints_a_token_that_works(alice):
    out = io.StringIO()
    call_command("issue_token", "alice", stdout=out)
    token = out.getvalue().strip().splitlines()[-1]
    response = Client().get("/api/teams", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200 and response.json()["items"][0]["slug"] == "demo"


def test_session_auth_needs_csrf_on_writes(alice, zone):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/api/zones").status_code == 200
    response = client.post("/api/requests", BODY, content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    token = client.get("/requests/new/").context["csrf_token"]
    response = client.post("/api/requests", BODY, content_type="application/json", HTTP_X_CSRFTOKEN=str(token))
    assert response.status_code == 201


# --- Teams and zones --------------------------------------------------------------------------------


def test_teams_carry_the_callers_role(api, alice, bob, carol, other_team):
    assert api(alice).get("/teams").json()["items"] == [
        {"slug": "demo", "name": "Demo team", "role": "member", "default_ttl_hours": 72, "max_ttl_hours": 720}
    ]
    assert [t["role"] for t in api(bob).get("/teams").json()["items"]] == ["approver"]
    auditor_view = api(carol).get("/teams").json()
    assert {t["slug"] for t in auditor_view["items"]} == {"demo", "other"} and auditor_view["count"] == 2
    assert {t["role"] for t in auditor_view["items"]} == {None}


def test_zones_shape(api, alice, zone):
    body = api(alice).get("/zones").json()
    assert body["count"] == 1 and body["next"] is None
    item = body["items"][0]
    assert set(item) == {
        "name", "account", "group", "region", "parent_zone", "carrier", "metro", "opt_in_status", "instance_types", "described_at",
    }
    assert item["group"] == "us-west-2-wl1" and item["parent_zone"] == "us-west-2a" and item["opt_in_status"] == "opted-in"


def test_zone_opt_in_is_for_admins(api, alice, zone):
    response = api(alice).post("/zone-groups/us-west-2-wl1/opt-in")
    assert response.status_code == 403


def test_zone_opt_in_calls_the_engine_and_returns_the_groups_zones(api, admin_user, zone, fake_opt_in):
    Zone.objects.filter(pk=zone.pk).update(opt_in_status="not-opted-in")
    response = api(admin_user).post("/zone-groups/us-west-2-wl1/opt-in")
    assert response.status_code == 202  # accepted: AWS reports the opt-in later
    assert [item["opt_in_status"] for item in response.json()["items"]] == ["opt-in-requested"]
    (origin, group), = fake_opt_in
    assert group == "us-west-2-wl1" and origin.user == admin_user and origin.source == "api"


# --- Requests ------------------------------------------------------------------------------------


def test_create_a_request_with_defaults(api, alice, zone):
    response = api(alice).post("/requests", BODY)
    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "pending" and body["requester"] == "alice" and body["team"] == "demo"
    assert body["vpc_cidr"] == "10.0.0.0/16" and body["public_subnet_cidr"] == "10.0.1.0/24"
    assert body["wavelength_subnet_cidr"] == "10.0.0.0/24" and body["bastion"] is True and body["ttl_hours"] == 72
    assert body["wavelength_ingress"] == [{"protocol": "all", "ports": None}] and body["bastion_ssh_cidr"] is None
    assert len(body["plan_hash"]) == 64 and body["plan"]["steps"][0]["calls"] == ["CreateVpc"]
    assert AuditEvent.objects.get(action="request.created").source == "api"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"wavelength_subnet_cidr": "192.168.0.0/24"}, "wavelength_subnet_cidr", "is not inside the VPC"),
        ({"public_subnet_cidr": "10.0.0.128/25"}, "public_subnet_cidr", "overlaps"),
        ({"vpc_cidr": "10.0.0.0/12"}, "vpc_cidr", "/16 to /28"),
        ({"instance_type": "x9.huge"}, "instance_type", "does not offer x9.huge"),
        ({"ttl_hours": 721}, "ttl_hours", "between 1 and 720"),
        ({"wavelength_ingress": [{"protocol": "icmp", "ports": "80"}]}, "wavelength_ingress", "ports apply only to tcp and udp"),
        ({"zone": "atlantis-wlz-1"}, "zone", "No Wavelength Zone named atlantis-wlz-1"),
        ({"ttl_hours": "soon"}, "ttl_hours", ""),
    ],
)
def test_bad_requests_are_400_with_field_errors(api, alice, zone, changes, field, message):
    response = api(alice).post("/requests", {**BODY, **changes})
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] and any(message in text for text in body["errors"][field]), body


def test_duplicate_names_and_zones_not_opted_in_are_400(api, alice, zone):
    assert api(alice).post("/requests", BODY).status_code == 201
    duplicate = api(alice).post("/requests", BODY).json()
    assert "already has a live environment or pending request" in duplicate["errors"]["name"][0]
    Zone.objects.filter(pk=zone.pk).update(opt_in_status="not-opted-in")
    response = api(alice).post("/requests", {**BODY, "name": "other"}).json()
    assert "is not opted in" in response["errors"]["zone"][0]


def test_requests_for_teams_outside_the_callers_are_404(api, mallory, zone, team):
    assert api(mallory).post("/requests", BODY).status_code == 404


def test_auditors_may_not_request(api, carol, zone, team):
    assert api(carol).post("/requests", BODY).status_code == 403


def test_approve_returns_the_environment_id(api, alice, bob, make_request, published_tasks, django_capture_on_commit_callbacks):
    request = make_request(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = api(bob).post(f"/requests/{request.pk}/approve", {"comment": "go", "plan_hash": request.plan_hash})
    assert response.status_code == 200
    body = response.json()
    environment = Environment.objects.get()
    assert body["environment_id"] == environment.pk and body["state"] == "approved" and body["decided_by"] == "bob"
    assert published_tasks == [("environments.advance", [environment.pk])]
    assert api(bob).get(f"/requests/{request.pk}").json()["environment_id"] == environment.pk
    # A second decision is a conflict.
    assert api(bob).post(f"/requests/{request.pk}/reject").status_code == 409


def test_approve_without_a_plan_hash_is_400_on_every_api_path(api, alice, bob, make_request):
    request = make_request(alice)
    for body in (None, {}, {"comment": "looks fine"}):
        response = api(bob).post(f"/requests/{request.pk}/approve", body)
        assert response.status_code == 400, body
        assert set(response.json()) == {"detail", "errors"} and "plan" in response.json()["errors"]["plan_hash"][0]
    response = api(bob).post(f"/requests/{request.pk}/approve", {"plan_hash": "not-a-hash"})
    assert response.status_code == 400 and response.json()["errors"]["plan_hash"]
    assert EnvironmentRequest.objects.get().state == "pending" and not Environment.objects.exists()


def test_approval_with_a_stale_plan_hash_is_409_with_both_hashes(api, alice, bob, make_request):
    request = make_request(alice)
    response = api(bob).post(f"/requests/{request.pk}/approve", {"plan_hash": "f" * 64})
    body = response.json()
    assert response.status_code == 409 and "plan" in body["detail"]
    assert body["given_plan_hash"] == "f" * 64 and body["plan_hash"] == request.plan_hash
    assert "f" * 64 in body["detail"] and request.plan_hash in body["detail"] and body["errors"]["plan_hash"]
    assert EnvironmentRequest.objects.get().state == "pending"


def test_approval_checks_a_hash_recomputed_from_the_stored_plan_not_the_stored_hash(api, alice, bob, make_request):
    """A plan changed in the database behind the request's back (its stored hash left alone) is not approved."""
    from environments.provisioning.plan import plan_hash

    request = make_request(alice)
    tampered = {**request.plan, "spec": {**request.plan["spec"], "instance_type": "g4dn.2xlarge"}}
    EnvironmentRequest.objects.filter(pk=request.pk).update(plan=tampered)
    response = api(bob).post(f"/requests/{request.pk}/approve", {"plan_hash": request.plan_hash})
    assert response.status_code == 409
    assert response.json()["given_plan_hash"] == request.plan_hash and response.json()["plan_hash"] == plan_hash(tampered)
    assert not Environment.objects.exists()


def test_self_approval_is_403_even_for_an_admin(api, alice, admin_user, team, make_request):
    own = make_request(alice)
    assert api(alice).post(f"/requests/{own.pk}/approve", {"plan_hash": own.plan_hash}).status_code == 403
    team.memberships.create(user=admin_user, role=TeamRole.APPROVER)
    admins_own = make_request(admin_user, name="admins")
    response = api(admin_user).post(f"/requests/{admins_own.pk}/approve", {"plan_hash": admins_own.plan_hash})
    assert response.status_code == 403 and "your own request" in response.json()["detail"]
    assert not Environment.objects.exists()


def test_an_admin_who_is_no_approver_of_the_team_cannot_approve(api, alice, admin_user, make_request):
    request = make_request(alice)
    assert api(admin_user).post(f"/requests/{request.pk}/approve", {"plan_hash": request.plan_hash}).status_code == 403


def test_reject_and_cancel(api, alice, bob, make_request):
    first, second = make_request(alice, name="one"), make_request(alice, name="two")
    assert api(alice).post(f"/requests/{first.pk}/reject").status_code == 403
    rejected = api(bob).post(f"/requests/{first.pk}/reject", {"comment": "no"}).json()
    assert rejected["state"] == "rejected" and rejected["decision_comment"] == "no"
    assert api(bob).post(f"/requests/{second.pk}/cancel").status_code == 403
    assert api(alice).post(f"/requests/{second.pk}/cancel").json()["state"] == "cancelled"


def test_other_teams_requests_are_404(api, alice, mallory, make_request):
    request = make_request(alice)
    for path in (f"/requests/{request.pk}", f"/requests/{request.pk}/approve", f"/requests/{request.pk}/cancel"):
        body = {"plan_hash": request.plan_hash}
        response = api(mallory).get(path) if "/" not in path.removeprefix("/requests/") else api(mallory).post(path, body)
        assert response.status_code == 404, path
    assert api(mallory).get("/requests").json() == {"items": [], "count": 0, "next": None}


def test_lists_are_newest_first_with_limit_and_cursor(api, alice, make_request):
    ids = [make_request(alice, name=f"r{number}").pk for number in range(5)]
    caller = api(alice)
    first = caller.get("/requests", {"limit": 2}).json()
    assert [item["id"] for item in first["items"]] == ids[::-1][:2] and first["count"] == 5 and first["next"]
    second = caller.get("/requests", {"limit": 2, "cursor": first["next"]}).json()
    assert [item["id"] for item in second["items"]] == ids[::-1][2:4]
    last = caller.get("/requests", {"limit": 2, "cursor": second["next"]}).json()
    assert [item["id"] for item in last["items"]] == ids[:1] and last["next"] is None
    assert len(caller.get("/requests").json()["items"]) == 5  # default limit 50
    for bad in ({"limit": 0}, {"limit": 501}, {"cursor": "garbage!"}):
        response = caller.get("/requests", bad)
        assert response.status_code == 400 and set(response.json()["errors"]) & {"limit", "cursor"}, bad
    assert caller.get("/requests", {"limit": 500}).status_code == 200


# --- Concurrency ----------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_start_exactly_one_build(alice, bob, erin, make_request, published_tasks):
    request = make_request(alice)
    callers = [Api(bob), Api(erin)]
    barrier = threading.Barrier(2)
    statuses = []

    def approve(caller):
        from django.db import connection

        barrier.wait()
        try:
            statuses.append(caller.post(f"/requests/{request.pk}/approve", {"plan_hash": request.plan_hash}).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(caller,)) for caller in callers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200, 409]
    assert Environment.objects.count() == 1
    # The submit also asked for a quota reading (quotas.refresh); one build was started.
    assert [name for name, _ in published_tasks if name.startswith("environments.")] == ["environments.advance"]


# --- Environments ---------------------------------------------------------------------------------


def test_environment_list_filters_and_includes_destroyed(api, alice, make_environment, zone):
    alpha = make_environment(alice, name="alpha")
    beta = make_environment(alice, name="beta")
    Environment.objects.filter(pk=alpha.pk).update(state="destroyed")
    caller = api(alice)
    everything = caller.get("/environments").json()
    assert [item["name"] for item in everything["items"]] == ["beta", "alpha"] and everything["count"] == 2
    assert [i["id"] for i in caller.get("/environments", {"state": "destroyed"}).json()["items"]] == [alpha.pk]
    assert [i["id"] for i in caller.get("/environments", {"name": "bet"}).json()["items"]] == [beta.pk]
    assert caller.get("/environments", {"zone": "elsewhere"}).json()["count"] == 0
    assert caller.get("/environments", {"team": "demo"}).json()["count"] == 2


def test_environment_detail_has_steps_resources_and_route_tables(api, alice, make_environment):
    environment = make_environment(alice)
    describe_route_tables(environment)
    body = api(alice).get(f"/environments/{environment.pk}").json()
    assert {"id", "name", "team", "state", "steps", "resources", "route_tables", "expires_at"} <= set(body)
    assert body["state"] == "provisioning" and body["team"] == "demo"
    assert [step["key"] for step in body["steps"]][0] == "vpc"
    assert {r["key"] for r in body["resources"]} >= {"carrier_gateway", "carrier_ip", "wavelength_instance"}
    tables = {table["key"]: table for table in body["route_tables"]}
    routes = tables["wavelength_route_table"]["routes"]
    assert {(r["destination"], r["target_kind"], r["target_id"]) for r in routes} == {
        ("10.0.0.0/16", "local", "local"),
        ("0.0.0.0/0", "carrier gateway", "cagw-0abc"),
    }
    assert tables["public_route_table"]["routes"][1]["target_kind"] == "internet gateway"
    assert tables["wavelength_route_table"]["subnets"] == [{"label": "wavelength subnet", "aws_id": "subnet-0wavelength"}]


def test_environment_actions(api, alice, bob, make_user, team, make_environment):
    environment = make_environment(alice)
    dave = make_user("dave", team=team, role=TeamRole.MEMBER)
    owner = api(alice)
    extended = owner.post(f"/environments/{environment.pk}/extend", {"hours": 2})
    assert extended.status_code == 200 and extended.json()["expires_at"] > environment.expires_at.isoformat()[:19]
    assert owner.post(f"/environments/{environment.pk}/extend", {"hours": 0}).json()["errors"]["hours"]
    assert owner.post(f"/environments/{environment.pk}/extend", {}).status_code == 400
    assert owner.post(f"/environments/{environment.pk}/refresh").status_code == 409  # a build runs: not now
    assert owner.post(f"/environments/{environment.pk}/retry").status_code == 409  # not failed
    assert api(dave).post(f"/environments/{environment.pk}/destroy").status_code == 403
    destroyed = api(bob).post(f"/environments/{environment.pk}/destroy", {"reason": "done"})
    assert destroyed.status_code == 202 and destroyed.json()["state"] == "destroying"
    assert owner.post(f"/environments/{environment.pk}/destroy").status_code == 409
    event = AuditEvent.objects.get(action="environment.destroy_requested")
    assert event.source == "api" and event.actor_username == "bob" and event.details == {"reason": "done"}


def test_other_teams_environments_are_404(api, alice, mallory, make_environment):
    environment = make_environment(alice)
    caller = api(mallory)
    assert caller.get(f"/environments/{environment.pk}").status_code == 404
    assert caller.get(f"/environments/{environment.pk}/traffic").status_code == 404
    for action in ("destroy", "retry", "refresh"):
        assert caller.post(f"/environments/{environment.pk}/{action}").status_code == 404
    assert caller.post(f"/environments/{environment.pk}/extend", {"hours": 1}).status_code == 404
    assert caller.get("/environments").json()["count"] == 0


def test_traffic_endpoint(api, alice, make_environment):
    environment = make_environment(alice)
    describe_route_tables(environment)
    response = api(alice).get(f"/environments/{environment.pk}/traffic")
    body = response.json()
    assert response.status_code == 200 and set(body) == {"items", "described_at"}
    assert set(body["items"][0]) == {"source", "destination", "protocol", "allowed", "ports", "reasons"}


def test_openapi_lists_the_endpoints(client):
    paths = client.get("/api/openapi.json").json()["paths"]
    for path in (
        "/api/teams", "/api/zones", "/api/zone-groups/{group}/opt-in", "/api/requests", "/api/requests/{request_id}",
        "/api/requests/{request_id}/approve", "/api/environments", "/api/environments/{environment_id}",
        "/api/environments/{environment_id}/traffic",
    ):
        assert path in paths, path


def test_auditors_read_everything_and_change_nothing(api, carol, alice, make_request, make_environment):
    pending = make_request(alice, name="pending-one")
    environment = make_environment(alice)
    auditor = api(carol)
    assert auditor.get("/requests").json()["count"] == 2
    assert auditor.get(f"/environments/{environment.pk}").status_code == 200
    assert auditor.post(f"/requests/{pending.pk}/approve", {"plan_hash": pending.plan_hash}).status_code == 403
    assert auditor.post(f"/requests/{pending.pk}/cancel").status_code == 403
    for action in ("destroy", "refresh"):
        assert auditor.post(f"/environments/{environment.pk}/{action}").status_code == 403, action
    assert auditor.post(f"/environments/{environment.pk}/extend", {"hours": 1}).status_code == 403


def test_session_callers_confirm_their_password_for_sensitive_actions_tokens_do_not(alice, bob, make_request, settings):
    import time

    request = make_request(alice)
    client = Client()
    client.force_login(bob)
    session = client.session
    session["authenticated_at"] = int(time.time()) - settings.WLPANEL_REAUTH_SECONDS - 60
    session.save()
    body = {"plan_hash": request.plan_hash}
    response = client.post(f"/api/requests/{request.pk}/approve", body, content_type="application/json")
    assert response.status_code == 403 and "/reauth/" in response.json()["detail"]
    assert Api(bob).post(f"/requests/{request.pk}/approve", body).status_code == 200


def test_list_query_counts_do_not_grow(api, alice, make_environment):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    caller = api(alice)

    def counts():
        result = {}
        for path in ("/environments", "/requests"):
            caller.get(path)  # warm: the token's last-used stamp is written at most once a minute
            with CaptureQueriesContext(connection) as queries:
                assert caller.get(path).status_code == 200
            result[path] = len(queries)
        return result

    for number in range(3):
        make_environment(alice, name=f"env-{number}")
    with_3 = counts()
    for number in range(3, 30):
        make_environment(alice, name=f"env-{number}")
    assert counts() == with_3
