"""The panel's pages: what each role sees and may do, validation, htmx partials, re-auth, CSRF."""

import html
import re
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.choices import TeamRole
from environments.models import Environment, EnvironmentRequest, Zone
from environments.network_view import network_view_update
from notify.models import Notification

from .conftest import describe_instances, describe_route_tables

pytestmark = pytest.mark.django_db

FORM = {
    "name": "edge-web",
    "team": "demo",
    "purpose": "latency test",
    "zone": "us-west-2-wl1-sfo-wlz-1",
    "instance_type": "t3.medium",
    "bastion": "yes",
    "vpc_cidr": "10.0.0.0/16",
    "public_subnet_cidr": "10.0.1.0/24",
    "wavelength_subnet_cidr": "10.0.0.0/24",
    "bastion_ssh_cidr": "",
    "ingress_mode": "all",
    "ingress_icmp": "on",
    "ttl_hours": "72",
}


def logged_in(client, user):
    client.force_login(user)
    return client


def htmx(**extra):
    return {"HTTP_HX_REQUEST": "true", **extra}


# --- Access ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/", "/requests/", "/requests/new/", "/approvals/", "/environments/", "/zones/", "/requests/1/", "/environments/1/"]
)
def test_pages_require_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_an_htmx_poll_after_the_session_ended_sends_the_page_to_login(client, alice, make_environment):
    environment = make_environment(alice)
    page = f"/environments/{environment.pk}/"
    response = client.get(f"{page}progress/", HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=f"http://testserver{page}")
    assert response.status_code == 200 and response["HX-Redirect"] == f"/login/?next=/environments/{environment.pk}/"


def test_objects_of_other_teams_are_404(client, alice, mallory, make_environment):
    environment = make_environment(alice)
    logged_in(client, mallory)
    for url in (
        f"/requests/{environment.request_id}/",
        f"/environments/{environment.pk}/",
        f"/environments/{environment.pk}/progress/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/environments/{environment.pk}/extend/", {"hours": 1}).status_code == 404
    assert client.post(f"/environments/{environment.pk}/refresh/").status_code == 404
    assert b"edge-1" not in client.get("/environments/").content


def test_auditor_reads_everything_and_is_offered_no_action(client, carol, alice, make_environment, make_request):
    environment = make_environment(alice)
    pending = make_request(alice, name="edge-2")
    logged_in(client, carol)
    page = client.get(f"/environments/{environment.pk}/")
    assert page.status_code == 200
    assert b"Destroy" not in page.content and b"Extend" not in page.content
    detail = client.get(f"/requests/{pending.pk}/")
    assert detail.status_code == 200 and b'data-testid="decision"' not in detail.content
    assert client.post(f"/requests/{pending.pk}/approve/", {"plan_hash": pending.plan_hash}).status_code == 403


# --- Home -----------------------------------------------------------------------------------------


def test_home_shows_the_person_their_queue_and_notifications(client, alice, bob, make_request):
    make_request(alice)
    logged_in(client, bob)
    response = client.get("/")
    content = response.content.decode()
    assert 'data-testid="logged-in-as">bob<' in content
    assert "waiting for your approval" in content and "asks for demo/edge-1" in content
    assert response.context["approval_count"] == 1
    assert 'data-testid="nav-approvals">1<' in content


def test_marking_a_notification_read_swaps_the_partial(client, alice, bob, make_request):
    make_request(alice)
    note = Notification.objects.get(user=bob)
    logged_in(client, bob)
    response = client.post(f"/notifications/{note.pk}/read/", **htmx())
    assert response.status_code == 200
    assert b'id="notifications"' in response.content and b"<html" not in response.content
    assert b"all caught up" in response.content
    note.refresh_from_db()
    assert note.read_at is not None


def test_htmx_posts_need_the_csrf_token(alice, bob, make_request):
    make_request(alice)
    note = Notification.objects.get(user=bob)
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    assert client.post(f"/notifications/{note.pk}/read/", **htmx()).status_code == 403
    home = client.get("/")
    token = home.context["csrf_token"]
    assert f'hx-headers=\'{{"x-csrftoken": "{token}"}}\'' in home.content.decode()
    response = client.post(f"/notifications/{note.pk}/read/", **htmx(HTTP_X_CSRFTOKEN=str(token)))
    assert response.status_code == 200


# --- Request form ---------------------------------------------------------------------------------


def test_request_form_shows_zones_defaults_and_the_requesters_address(client, alice, zone):
    logged_in(client, alice)
    response = client.get("/requests/new/", REMOTE_ADDR="198.51.100.7")
    content = response.content.decode()
    assert response.status_code == 200
    for text in ("10.0.0.0/16", "10.0.1.0/24", "10.0.0.0/24", "Verizon", "San Francisco Bay Area", "us-west-2", "opted in"):
        assert text in content, text
    assert 'data-testid="suggested-ssh">198.51.100.7/32<' in content
    assert '<datalist id="ssh-suggestions"><option value="198.51.100.7/32">' in content
    assert response.context["form"]["bastion_ssh_cidr"].value() == "198.51.100.7/32"  # filled in: where alice is
    assert "less than a minute ago" in content and "0\xa0minutes" not in content  # the zone cache's age
    assert "carrier network" in content and "ICMP inbound" in content
    assert 'hx-get="/requests/new/instance-types/"' in content


def test_people_outside_every_team_are_told_why_they_cannot_request(client, carol, zone):
    logged_in(client, carol)
    page = client.get("/")
    assert b"Request an environment" not in page.content and b"New request" not in page.content
    assert b"As an auditor you request nothing" in page.content
    response = client.get("/requests/new/")
    assert response.status_code == 403
    reason = html.unescape(response.content.decode())
    assert "Only members of a team request environments: an auditor reads everything and changes nothing." in reason
    assert '<form method="post" action="/requests/new/"' not in reason  # the form is not offered
    # Submitting anyway (or previewing) is refused: an auditor changes nothing.
    assert client.post("/requests/new/", FORM).status_code == 403
    assert client.post("/requests/new/preview/", FORM).status_code == 403
    assert not EnvironmentRequest.objects.exists()


def test_instance_type_select_follows_the_zone(client, alice, zone):
    Zone.objects.create(
        name="us-east-1-wl1-bos-wlz-1", group_name="us-east-1-wl1", region="us-east-1", instance_types=["c5.2xlarge"],
        carrier="Verizon", metro="Boston", opt_in_status="not-opted-in",
    )
    logged_in(client, alice)
    response = client.get("/requests/new/instance-types/", {"zone": "us-east-1-wl1-bos-wlz-1"}, **htmx())
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="instance-types">')
    assert '<option value="c5.2xlarge"' in content and "t3.medium" not in content
    assert "is not opted in" in content and "AWS Support" in content


def test_the_default_instance_type_is_the_smallest_general_purpose_one(client, alice, zone):
    from environments.forms import default_instance_type

    # The zone fixture offers t3.medium, t3.xlarge, r5.2xlarge and g4dn.2xlarge (a GPU type).
    logged_in(client, alice)
    page = client.get("/requests/new/").content.decode()
    assert '<option value="t3.medium" selected>' in page and '<option value="g4dn.2xlarge" selected>' not in page
    assert default_instance_type(["g4dn.2xlarge", "m5.2xlarge", "m5.large", "t3.xlarge"]) == "m5.large"
    assert default_instance_type(["g4dn.2xlarge", "r5.2xlarge", "c5.xlarge"]) == "c5.xlarge"
    assert default_instance_type(["t3.medium", "t3.micro"]) == "t3.micro"
    assert default_instance_type([]) == ""


def test_no_instance_type_is_asked_for_in_words(client, alice, zone):
    logged_in(client, alice)
    response = client.post("/requests/new/", {**FORM, "instance_type": ""})
    errors = response.context["form"].errors["instance_type"]
    assert errors == [f"Choose an instance type; {zone.name} offers: t3.medium, t3.xlarge, r5.2xlarge, g4dn.2xlarge."]


def test_key_pairs_are_offered_from_the_region_and_checked(client, alice, zone, sandbox):
    import boto3
    from django.core.cache import cache

    cache.clear()  # the key pairs are kept a minute per endpoint and region
    ec2 = boto3.client(
        "ec2", region_name="us-west-2", endpoint_url=sandbox.url, aws_access_key_id="sandbox", aws_secret_access_key="sandbox"
    )
    ec2.create_key_pair(KeyName="alice-laptop")
    logged_in(client, alice)
    page = client.get("/requests/new/").content.decode()
    assert '<option value="alice-laptop">' in page and 'list="key-pairs"' in page
    response = client.post("/requests/new/", {**FORM, "key_name": "nope"})
    assert response.context["form"].errors["key_name"] == ["No key pair named nope in us-west-2; its key pairs: alice-laptop."]
    assert not EnvironmentRequest.objects.exists()
    response = client.post("/requests/new/", {**FORM, "key_name": "alice-laptop"})
    assert response.status_code == 302 and EnvironmentRequest.objects.get().key_name == "alice-laptop"


def test_the_ami_override_is_checked_before_anything_is_built(client, alice, zone, sandbox):
    import boto3

    ec2 = boto3.client(
        "ec2", region_name="us-west-2", endpoint_url=sandbox.url, aws_access_key_id="sandbox", aws_secret_access_key="sandbox"
    )
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    x86 = next(i for i in images if i.get("Architecture") == "x86_64" and i.get("RootDeviceType", "ebs") == "ebs")
    logged_in(client, alice)

    def errors(image_id):
        response = client.post("/requests/new/preview/", {**FORM, "image_id": image_id})
        return response.context["form"].errors.get("image_id")

    assert errors("ami-nope") == ["An AMI id such as ami-0123456789abcdef0, or empty."]  # the field's own bounds
    assert errors("ami-0123456789abcdef0") == ["No AMI ami-0123456789abcdef0 in us-west-2 that this account may use."]
    assert errors(x86["ImageId"]) is None
    arm = next(i for i in images if i.get("Architecture") == "arm64" and i.get("RootDeviceType", "ebs") == "ebs")
    assert errors(arm["ImageId"]) == [f"AMI {arm['ImageId']} is arm64; t3.medium runs x86_64."]
    store = next(i for i in images if i.get("RootDeviceType") == "instance-store")
    assert "boots from an instance store" in errors(store["ImageId"])[0]


def test_a_key_pair_deleted_since_the_request_stops_the_approval(client, alice, bob, zone, sandbox, make_request):
    import boto3
    from django.core.cache import cache

    from environments import services
    from environments.exceptions import Conflict
    from tests.conftest import origin_of

    cache.clear()
    ec2 = boto3.client(
        "ec2", region_name="us-west-2", endpoint_url=sandbox.url, aws_access_key_id="sandbox", aws_secret_access_key="sandbox"
    )
    ec2.create_key_pair(KeyName="alice-laptop")
    request = make_request(alice, name="with-key", key_name="alice-laptop")
    ec2.delete_key_pair(KeyName="alice-laptop")
    cache.clear()  # as a minute later
    logged_in(client, bob)
    page = html.unescape(client.get(f"/requests/{request.pk}/").content.decode())
    assert 'data-testid="override-problems"' in page and "No key pair named alice-laptop in us-west-2" in page
    with pytest.raises(Conflict, match="cannot be built as planned: No key pair named alice-laptop"):
        services.environment_request_approve(origin=origin_of(bob), request_id=request.pk, plan_hash=request.plan_hash)
    request.refresh_from_db()
    assert request.state == "pending" and not Environment.objects.exists()


def test_a_member_imports_a_public_key_audited_and_it_is_offered(client, alice, carol, zone, sandbox):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from django.core.cache import cache

    from audit.models import AuditEvent

    cache.clear()
    public_key = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode()
    )
    logged_in(client, alice)
    refused = client.post("/key-pairs/", {"region": "us-west-2", "name": "alice-laptop", "public_key": "-----BEGIN OPENSSH PRIVATE KEY-----"})
    assert "never the private key" in html.unescape(refused.content.decode())
    response = client.post("/key-pairs/", {"region": "us-west-2", "name": "alice-laptop", "public_key": public_key + " alice@laptop"})
    assert response.status_code == 302 and response["Location"] == "/key-pairs/?region=us-west-2"
    imported = AuditEvent.objects.get(action="key_pair.imported")
    assert imported.actor_username == "alice" and imported.details["name"] == "alice-laptop"
    assert AuditEvent.objects.filter(action="aws.ImportKeyPair", details__cause_event_id__isnull=False).exists()
    assert 'data-testid="key-pairs-table"' in client.get("/key-pairs/?region=us-west-2").content.decode()
    assert '<option value="alice-laptop">' in client.get("/requests/new/").content.decode()
    logged_in(client, carol)
    assert client.post("/key-pairs/", {"region": "us-west-2", "name": "c", "public_key": public_key}).status_code == 403
    assert "Import your public key" not in client.get("/key-pairs/").content.decode()


def test_submitting_a_valid_request(client, alice, bob, zone):
    logged_in(client, alice)
    response = client.post("/requests/new/", {**FORM, "ingress_mode": "custom", "ingress_tcp": "22,443", "ingress_udp": ""})
    request = EnvironmentRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/requests/{request.pk}/"
    assert request.requester == alice and request.state == "pending"
    assert request.wavelength_ingress == [{"protocol": "tcp", "ports": "22,443"}, {"protocol": "icmp", "ports": None}]
    assert Notification.objects.filter(user=bob, verb="request.waiting").exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"public_subnet_cidr": "10.1.1.0/24"}, "public_subnet_cidr", "is not inside the VPC"),
        ({"public_subnet_cidr": "10.0.0.0/25"}, "public_subnet_cidr", "overlaps the Wavelength subnet"),
        ({"vpc_cidr": "10.0.0.0/8"}, "vpc_cidr", "AWS accepts VPC sizes from /16 to /28"),
        ({"wavelength_subnet_cidr": "10.0.0.0/29"}, "wavelength_subnet_cidr", "subnet sizes from /16 to /28"),
        ({"instance_type": "p4d.24xlarge"}, "instance_type", "does not offer p4d.24xlarge"),
        ({"ttl_hours": "9999"}, "ttl_hours", "Expiry must be between 1 and 720 hours"),
        ({"name": "Bad_Name"}, "name", "lowercase letters"),
        ({"ingress_mode": "custom", "ingress_tcp": "80,99999"}, "ingress_mode", "not a range of ports"),
    ],
)
def test_validation_messages_sit_next_to_their_fields_and_nothing_is_lost(client, alice, zone, changes, field, message):
    logged_in(client, alice)
    response = client.post("/requests/new/", {**FORM, **changes})
    assert response.status_code == 200
    form = response.context["form"]
    assert any(message in error for error in form.errors[field]), form.errors
    content = response.content.decode()
    assert f'id="field-{field}"' in content or field in ("instance_type", "ingress_mode")
    assert 'value="latency test"' in content or "latency test" in content  # what was typed is kept
    assert not EnvironmentRequest.objects.exists()


def test_duplicate_name_is_refused(client, alice, zone, make_request):
    make_request(alice, name="edge-web")
    logged_in(client, alice)
    response = client.post("/requests/new/", FORM)
    assert "already has a live environment or pending request" in response.context["form"].errors["name"][0]


def test_a_zone_not_opted_in_is_refused_with_the_way_out(client, alice, admin_user, zone):
    zone.opt_in_status = "not-opted-in"
    zone.save()
    logged_in(client, alice)
    response = client.post("/requests/new/", FORM)
    assert "is not opted in" in response.context["form"].errors["zone"][0]
    assert b'data-testid="zone-not-opted-in"' in response.content
    # The admin is offered the opt-in page for the group.
    logged_in(client, admin_user)
    page = client.get("/requests/new/").content.decode()
    assert "/zones/?group=us-west-2-wl1" in page


def test_plan_preview_lists_every_resource_and_call(client, alice, zone):
    logged_in(client, alice)
    response = client.post("/requests/new/preview/", FORM, **htmx())
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="plan-preview"')
    for call in ("CreateVpc", "CreateCarrierGateway", "AllocateAddress", "RunInstances", "AssociateRouteTable"):
        assert call in content
    assert 'data-testid="plan-hash"' in content
    assert not EnvironmentRequest.objects.exists()


def test_plan_preview_shows_errors_instead(client, alice, zone):
    logged_in(client, alice)
    response = client.post("/requests/new/preview/", {**FORM, "vpc_cidr": "nonsense"}, **htmx())
    assert b"Fix these first" in response.content and b"is not an IPv4 CIDR block" in response.content


def test_new_request_from_a_failed_one_is_prefilled(client, alice, make_environment):
    environment = make_environment(alice, instance_type="r5.2xlarge")
    Environment.objects.filter(pk=environment.pk).update(
        state="failed", failure_code="InsufficientInstanceCapacity", failure_reason="No capacity."
    )
    logged_in(client, alice)
    detail = client.get(f"/environments/{environment.pk}/").content.decode()
    assert f"/requests/new/?from={environment.request_id}" in detail
    response = client.get(f"/requests/new/?from={environment.request_id}")
    form = response.context["form"]
    # AWS had no r5.2xlarge: the zone's next offered type is proposed instead.
    assert form.initial["instance_type"] == "t3.medium" and form.initial["zone"] == environment.zone.name
    assert "AWS had no capacity for <code>r5.2xlarge</code>" in response.content.decode()
    assert form.initial["name"] == "edge-1-2"  # the failed environment still holds its name
    assert b"InsufficientInstanceCapacity" in response.content
    posted = client.post("/requests/new/", {**FORM, "name": "edge-1-2", "instance_type": "t3.xlarge", "from": environment.request_id})
    assert posted.status_code == 302
    assert EnvironmentRequest.objects.get(name="edge-1-2").prefilled_from_id == environment.request_id


# --- Decisions ------------------------------------------------------------------------------------


def test_approver_sees_the_plan_and_approves_its_hash(client, alice, bob, make_request):
    request = make_request(alice)
    logged_in(client, bob)
    page = client.get(f"/requests/{request.pk}/").content.decode()
    assert f'name="plan_hash" value="{request.plan_hash}"' in page
    assert "CreateCarrierGateway" in page
    response = client.post(f"/requests/{request.pk}/approve/", {"plan_hash": request.plan_hash, "comment": "ok"})
    environment = Environment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/environments/{environment.pk}/"
    request.refresh_from_db()
    assert request.state == "approved" and request.decided_by == bob


def test_requester_cannot_approve_their_own_request_on_the_page(client, alice, make_request):
    request = make_request(alice)
    logged_in(client, alice)
    page = client.get(f"/requests/{request.pk}/").content.decode()
    assert 'data-testid="decision"' not in page and "Cancel request" in page
    response = client.post(f"/requests/{request.pk}/approve/", {"plan_hash": request.plan_hash})
    assert response.status_code == 403
    assert EnvironmentRequest.objects.get().state == "pending"


def test_an_admin_who_requested_cannot_approve_it_either(client, admin_user, team, make_request):
    team.memberships.create(user=admin_user, role=TeamRole.APPROVER)
    request = make_request(admin_user)
    logged_in(client, admin_user)
    assert client.post(f"/requests/{request.pk}/approve/", {"plan_hash": request.plan_hash}).status_code == 403
    assert not Environment.objects.exists()


def test_an_approval_of_a_plan_not_shown_is_refused(client, alice, bob, make_request):
    request = make_request(alice)
    logged_in(client, bob)
    response = client.post(f"/requests/{request.pk}/approve/", {"plan_hash": "0" * 64})
    page = response.content.decode()
    assert response.status_code == 409 and "not the request&#x27;s current plan" in page
    assert "0" * 64 in page and request.plan_hash in page  # both hashes, on the request's page
    assert not Environment.objects.exists()
    # No hash at all is no better: 400, the page again with what is missing.
    for body in ({}, {"comment": "fine by me"}, {"plan_hash": ""}):
        response = client.post(f"/requests/{request.pk}/approve/", body)
        assert response.status_code == 400 and "hash of the plan you reviewed" in response.content.decode()
    assert not Environment.objects.exists() and EnvironmentRequest.objects.get().state == "pending"


def test_reject_and_cancel(client, alice, bob, make_request):
    first, second = make_request(alice, name="one"), make_request(alice, name="two")
    logged_in(client, bob)
    client.post(f"/requests/{first.pk}/reject/", {"comment": "too big"})
    first.refresh_from_db()
    assert first.state == "rejected" and first.decision_comment == "too big"
    logged_in(client, alice)
    client.post(f"/requests/{second.pk}/cancel/")
    second.refresh_from_db()
    assert second.state == "cancelled"
    assert b"New request from this one" in client.get(f"/requests/{first.pk}/").content


def test_approval_queue_lists_what_the_person_may_decide(client, alice, bob, make_request):
    make_request(alice, name="mine-to-decide")
    logged_in(client, bob)
    assert b"mine-to-decide" in client.get("/approvals/").content
    logged_in(client, alice)
    assert b"mine-to-decide" not in client.get("/approvals/").content


def test_navigation_counts_agree_with_the_approval_queue(
    alice, bob, erin, carol, mallory, make_request, make_user, other_team, team
):
    """The navigation's raw SQL (it runs on every page) counts what approval_queue() lists."""
    from accounts.choices import TeamRole
    from environments.selectors import approval_queue, navigation_state

    make_request(alice, name="from-alice")
    make_request(bob, name="from-bob")  # bob's own: erin's to decide, not his
    decided = make_request(alice, name="cancelled")
    decided.state = "cancelled"
    decided.save(update_fields=["state"])
    make_request(mallory, name="elsewhere", team=other_team)
    both = make_user("both", team=team, role=TeamRole.APPROVER)
    other_team.memberships.create(user=both, role=TeamRole.MEMBER)  # a member there: decides nothing
    for user in (alice, bob, erin, carol, mallory, both):
        expected = {
            "queue": approval_queue(user).count(),
            "member": user.memberships.exists(),
            "approver": user.memberships.filter(role=TeamRole.APPROVER).exists(),
        }
        assert navigation_state(user) == expected, user.username
    assert navigation_state(bob)["queue"] == 1 and navigation_state(erin)["queue"] == 2
    assert navigation_state(carol) == {"queue": 0, "member": False, "approver": False}
    assert navigation_state(alice)["approver"] is False and navigation_state(both)["approver"] is True


# --- Re-authentication ----------------------------------------------------------------------------


def age_login(client, seconds):
    session = client.session
    session["authenticated_at"] = int(time.time()) - seconds
    session.save()


def test_an_old_login_must_confirm_the_password_before_approving(client, alice, bob, make_request, settings):
    request = make_request(alice)
    logged_in(client, bob)
    age_login(client, settings.WLPANEL_REAUTH_SECONDS + 60)
    response = client.post(f"/requests/{request.pk}/approve/", {"plan_hash": request.plan_hash})
    assert response.status_code == 302 and response["Location"].startswith("/reauth/?next=%2Frequests%2F")
    assert not Environment.objects.exists()

    wrong = client.post("/reauth/", {"password": "nope", "next": f"/requests/{request.pk}/"})
    assert wrong.status_code == 200 and b"not your password" in wrong.content
    from tests.conftest import PASSWORD

    back = client.post("/reauth/", {"password": PASSWORD, "next": f"/requests/{request.pk}/"})
    assert back.status_code == 302 and back["Location"] == f"/requests/{request.pk}/"
    assert client.post(f"/requests/{request.pk}/approve/", {"plan_hash": request.plan_hash}).status_code == 302
    assert Environment.objects.count() == 1


def test_an_old_login_must_confirm_before_destroying_and_opting_in(client, alice, admin_user, make_environment, settings):
    environment = make_environment(alice)
    logged_in(client, alice)
    age_login(client, settings.WLPANEL_REAUTH_SECONDS + 60)
    assert client.get(f"/environments/{environment.pk}/destroy/")["Location"].startswith("/reauth/")
    response = client.post(f"/environments/{environment.pk}/destroy/", {"confirm_name": "edge-1"}, **htmx())
    assert response.status_code == 200 and response["HX-Redirect"].startswith("/reauth/")
    logged_in(client, admin_user)
    age_login(client, settings.WLPANEL_REAUTH_SECONDS + 60)
    assert client.post("/zones/us-west-2-wl1/opt-in/")["Location"].startswith("/reauth/")


def test_reauth_never_redirects_off_site(client, alice):
    from tests.conftest import PASSWORD

    logged_in(client, alice)
    response = client.post("/reauth/", {"password": PASSWORD, "next": "https://evil.example/"})
    assert response["Location"] == "/"


# --- Environments ---------------------------------------------------------------------------------


def test_environment_page_polls_while_provisioning_and_shows_route_tables(client, alice, make_environment):
    environment = make_environment(alice)
    describe_route_tables(environment)
    logged_in(client, alice)
    content = client.get(f"/environments/{environment.pk}/").content.decode()
    assert 'hx-trigger="every 2s"' in content
    assert f'hx-get="/environments/{environment.pk}/progress/?seen=' in content
    assert "rtb-0wavelength" in content and "carrier gateway" in content and "cagw-0abc" in content
    assert "internet gateway" in content and "igw-0abc" in content and "local" in content
    assert "subnet-0wavelength" in content
    for step in ("Carrier gateway", "Wavelength instance", "Carrier IP"):
        assert step in content
    # The colleagues' traffic matrix and topology, inside the polled part.
    live = content.split('id="environment-live"')[1]
    assert 'id="traffic-matrix"' in live and "<svg" in live and "Carrier network (same metro &amp; carrier)" in live
    # The audit review's timeline, below the live part.
    timeline = content.split('data-testid="audit-timeline"')[1]
    assert "request.approved" in timeline and "environment.created" in timeline


def test_progress_partial_stops_polling_at_a_settled_state(client, alice, make_environment):
    environment = make_environment(alice)
    logged_in(client, alice)
    polling = client.get(f"/environments/{environment.pk}/progress/", **htmx())
    assert polling.status_code == 200 and b'hx-trigger="every 2s"' in polling.content
    assert polling.content.lstrip().startswith(b'<div id="environment-live"')
    Environment.objects.filter(pk=environment.pk).update(state="ready")
    settled = client.get(f"/environments/{environment.pk}/progress/", **htmx())
    assert settled.status_code == 286 and b"hx-trigger" not in settled.content
    assert settled["HX-Refresh"] == "true"  # one reload, so the header and the actions follow the state
    assert b'data-state="ready"' in settled.content
    assert b"hx-trigger" not in client.get(f"/environments/{environment.pk}/").content.split(b"environment-live")[1][:200]


def test_a_poll_resends_the_described_part_only_when_it_changed(client, alice, make_environment, monkeypatch):
    monkeypatch.setattr("environments.presenters.current_minute", lambda: 0)  # no minute boundary mid-test
    environment = make_environment(alice)
    logged_in(client, alice)
    page = client.get(f"/environments/{environment.pk}/").content.decode()
    poll_url = html.unescape(re.search(r'id="environment-live" hx-get="([^"]+)"', page).group(1))

    unchanged = client.get(poll_url, **htmx()).content.decode()
    assert unchanged.lstrip().startswith('<div id="environment-live"') and "Progress" in unchanged
    assert 'id="environment-described"' not in unchanged and 'id="traffic-matrix"' not in unchanged

    describe_route_tables(environment)  # the engine described the route tables since the page loaded
    changed = client.get(poll_url, **htmx()).content.decode()
    described = changed.split('<div id="environment-described" hx-swap-oob="true">')[1]
    assert "rtb-0wavelength" in described and "cagw-0abc" in described and 'id="traffic-matrix"' in described
    next_url = html.unescape(re.search(r'id="environment-live" hx-get="([^"]+)"', changed).group(1))
    assert next_url != poll_url  # the next poll names the description the page now shows
    assert 'id="environment-described"' not in client.get(next_url, **htmx()).content.decode()
    monkeypatch.setattr("environments.presenters.current_minute", lambda: 1)  # "described 3 minutes ago" moves
    assert 'id="environment-described"' in client.get(next_url, **htmx()).content.decode()


def test_the_steps_table_follows_its_resources(client, alice, make_environment):
    """The steps table is cached by what it shows (while no step runs): a change shows at once."""
    from environments.models import Resource

    environment = make_environment(alice)
    logged_in(client, alice)

    def vpc_row():
        page = client.get(f"/environments/{environment.pk}/").content.decode()
        return page.split('<div class="muted mono small-text">vpc</div>')[1].split("</tr>")[0]

    assert "vpc-0cached" not in vpc_row()
    Resource.objects.filter(environment=environment, key="vpc").update(state="ready", aws_id="vpc-0cached")
    assert "vpc-0cached" in vpc_row() and "Ready" in vpc_row()


def test_the_audit_trail_on_the_detail_page_follows_new_rows(client, alice, make_environment):
    environment = make_environment(alice)
    logged_in(client, alice)
    assert "environment.extended" not in client.get(f"/environments/{environment.pk}/").content.decode()
    client.post(f"/environments/{environment.pk}/extend/", {"hours": 1})
    trail = client.get(f"/environments/{environment.pk}/").content.decode().split('data-testid="audit-timeline"')[1]
    assert "environment.extended" in trail


def test_failed_environment_shows_reason_hint_and_retry(client, alice, make_environment, published_tasks):
    environment = make_environment(alice)
    Environment.objects.filter(pk=environment.pk).update(
        state="failed", failure_reason="InsufficientInstanceCapacity for r5.2xlarge", failure_hint="Try t3.xlarge.",
        failure_code="InsufficientInstanceCapacity",
    )
    logged_in(client, alice)
    content = client.get(f"/environments/{environment.pk}/").content.decode()
    assert "Try t3.xlarge." in content and "Retry build" in content
    client.post(f"/environments/{environment.pk}/retry/")
    environment.refresh_from_db()
    assert environment.state == "provisioning"


def test_destroy_needs_the_name_typed(client, alice, make_environment):
    environment = make_environment(alice)
    logged_in(client, alice)
    assert b"Type the environment" in client.get(f"/environments/{environment.pk}/destroy/").content
    wrong = client.post(f"/environments/{environment.pk}/destroy/", {"confirm_name": "other"})
    assert wrong.status_code == 200 and "Type “edge-1” to confirm." in wrong.content.decode()
    environment.refresh_from_db()
    assert environment.state == "provisioning"
    client.post(f"/environments/{environment.pk}/destroy/", {"confirm_name": "edge-1", "reason": "done"})
    environment.refresh_from_db()
    assert environment.state == "destroying"
    environment.resources.filter(key__in=["carrier_ip", "wavelength_instance"]).update(state="deleted")
    page = client.get(f"/environments/{environment.pk}/").content.decode()
    assert "2 of 12 resources removed" in page  # teardown progress counts removals, not the build


def test_a_member_may_not_destroy_a_teammates_environment(client, alice, make_user, team, make_environment):
    dave = make_user("dave", team=team, role=TeamRole.MEMBER)
    environment = make_environment(alice)
    logged_in(client, dave)
    assert b"Destroy" not in client.get(f"/environments/{environment.pk}/").content
    assert client.get(f"/environments/{environment.pk}/destroy/").status_code == 403


def test_an_environment_about_to_expire_says_so(client, alice, make_environment):
    from datetime import timedelta

    from django.utils import timezone

    environment = make_environment(alice)
    logged_in(client, alice)
    assert b'data-testid="expires-soon"' not in client.get(f"/environments/{environment.pk}/").content
    Environment.objects.filter(pk=environment.pk).update(expires_at=timezone.now() + timedelta(hours=3))
    assert b'data-testid="expires-soon"' in client.get(f"/environments/{environment.pk}/").content


def test_extend_and_refresh(client, alice, make_environment, published_tasks, django_capture_on_commit_callbacks):
    environment = make_environment(alice)
    before = environment.expires_at
    logged_in(client, alice)
    client.post(f"/environments/{environment.pk}/extend/", {"hours": 24})
    environment.refresh_from_db()
    assert (environment.expires_at - before).total_seconds() >= 24 * 3600 - 5
    too_long = client.post(f"/environments/{environment.pk}/extend/", {"hours": 10000}, follow=True)
    assert b"allows at most 720 hours" in too_long.content
    # Hours past any team's limit (1e12 once overflowed the date arithmetic) are refused as such.
    absurd = client.post(f"/environments/{environment.pk}/extend/", {"hours": 10**12}, follow=True)
    assert absurd.status_code == 200 and b"less than or equal to 87600" in absurd.content
    environment.refresh_from_db()
    assert (environment.expires_at - before).total_seconds() < 25 * 3600
    refused = client.post(f"/environments/{environment.pk}/refresh/", follow=True)  # still provisioning
    assert b"refresh it once the operation has ended" in refused.content
    Environment.objects.filter(pk=environment.pk).update(state="ready")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/environments/{environment.pk}/refresh/")
    assert published_tasks[-1][0] == "environments.refresh" and published_tasks[-1][1][0] == environment.pk


def test_requests_page_filters_by_team_for_people_in_several_teams(client, alice, mallory, make_request, other_team):
    from accounts.choices import TeamRole

    other_team.memberships.create(user=alice, role=TeamRole.MEMBER)
    make_request(alice, name="in-demo")
    make_request(alice, name="in-other", team=other_team)
    make_request(mallory, name="mallorys", team=other_team)
    logged_in(client, alice)
    everything = client.get("/requests/").content.decode()
    assert 'data-testid="team-tabs"' in everything and 'href="?team=other"' in everything
    assert "in-demo" in everything and "in-other" in everything and "mallorys" in everything
    other = client.get("/requests/", {"team": "other", "state": "pending"}).content.decode()
    assert "in-other" in other and "mallorys" in other and "in-demo" not in other
    assert 'href="?state=cancelled&amp;team=other"' in other  # the state tabs keep the team
    # A team the person does not belong to is ignored, not a way to look elsewhere.
    assert "in-demo" in client.get("/requests/", {"team": "nope"}).content.decode()


def test_requests_page_has_no_team_tabs_for_one_team(client, alice, make_request):
    make_request(alice)
    logged_in(client, alice)
    assert 'data-testid="team-tabs"' not in client.get("/requests/").content.decode()


def test_environment_list_filters(client, alice, make_environment, zone):
    make_environment(alice, name="alpha")
    beta = make_environment(alice, name="beta")
    Environment.objects.filter(pk=beta.pk).update(state="ready")
    logged_in(client, alice)
    content = client.get("/environments/", {"state": "ready"}).content.decode()
    assert "beta" in content and ">alpha<" not in content
    partial = client.get("/environments/", {"name": "alp"}, **htmx()).content.decode()
    assert partial.lstrip().startswith('<div id="environment-table">') and "alpha" in partial and ">beta<" not in partial


def test_environment_list_columns_sort_search_by_ip_and_export(client, alice, make_environment, zone):
    import csv
    import io

    alpha = make_environment(alice, name="alpha", instance_type="t3.xlarge")
    beta = make_environment(alice, name="beta")
    describe_instances(beta)  # Carrier IP 155.146.1.2
    describe_route_tables(beta)  # vpc-0a1b2c3d, cagw-0abc…
    gone = make_environment(alice, name="gone")
    describe_instances(gone)
    Environment.objects.filter(pk=gone.pk).update(state="destroyed")
    logged_in(client, alice)

    def names(**params):
        content = client.get("/environments/", params).content.decode()
        return re.findall(r'<a href="/environments/\d+/">([a-z-]+)</a>', content), content

    shown, content = names()
    assert shown == ["gone", "beta", "alpha"]  # newest first
    beta_row = content.split(f'href="/environments/{beta.pk}/"')[1].split("</tr>")[0]
    assert ">155.146.1.2<" in beta_row and ">t3.medium<" in beta_row
    gone_row = content.split(f'href="/environments/{gone.pk}/"')[1].split("</tr>")[0]
    assert "155.146.1.2" not in gone_row  # a destroyed environment has no Carrier IP any more
    assert names(sort="name")[0] == ["alpha", "beta", "gone"]
    assert names(sort="-name")[0] == ["gone", "beta", "alpha"]
    assert names(sort="instance")[0][-1] == "alpha"  # t3.xlarge after t3.medium
    assert 'aria-sort="ascending"' in names(sort="name")[1]
    assert names(sort="bogus")[0] == ["gone", "beta", "alpha"]
    # Search by Carrier IP or AWS id, not only by name.
    assert names(name="155.146.1.2", state="ready")[0] == []
    assert names(name="155.146.1.2")[0] == ["gone", "beta"]
    assert names(name="cagw-0abc", state="provisioning")[0] == ["beta"]
    # CSV: every row as filtered and sorted.
    response = client.get("/environments/", {"format": "csv", "sort": "name"})
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["name"] for row in rows] == ["alpha", "beta", "gone"]
    assert rows[1]["carrier_ip"] == "155.146.1.2" and rows[2]["carrier_ip"] == "" and rows[0]["instance_type"] == "t3.xlarge"
    assert rows[0]["zone"] == zone.name and rows[0]["team"] == "demo" and rows[0]["expires_at"].startswith("20")
    assert str(alpha.pk) == rows[0]["id"]


def test_environment_list_rows_follow_their_environment(client, alice, make_environment):
    """Rows are cached by their values: a new state or expiry shows at once, not a minute later."""
    environment = make_environment(alice, name="gamma")
    logged_in(client, alice)

    def row():
        content = client.get("/environments/").content.decode()
        return content.split(f'href="/environments/{environment.pk}/"')[1].split("</tr>")[0]

    assert 'data-state="provisioning"' in row() and "soon" not in row()
    Environment.objects.filter(pk=environment.pk).update(state="ready", expires_at=timezone.now() + timedelta(hours=3, minutes=5))
    assert 'data-state="ready"' in row() and "soon" in row() and "3\xa0hours from now" in row()


def _query_counts(client, environment_id) -> dict[str, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get("/")  # the first request of a session writes it; not part of any page's cost
    counts = {}
    for name, url in (
        ("environment list", "/environments/"),
        ("environment detail", f"/environments/{environment_id}/"),
        ("progress", f"/environments/{environment_id}/progress/"),
        ("request list", "/requests/"),
        ("home", "/"),
    ):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200, url
        counts[name] = len(queries)
    return counts


def test_query_counts_do_not_grow_with_the_number_of_environments(client, alice, make_environment, django_assert_max_num_queries):
    for number in range(3):
        make_environment(alice, name=f"env-{number}")
    last = Environment.objects.order_by("-id").first()
    describe_route_tables(last)
    network_view_update(environment_id=last.pk)  # as the worker does when a description lands
    logged_in(client, alice)
    with_3 = _query_counts(client, last.pk)
    for number in range(3, 30):
        make_environment(alice, name=f"env-{number}")
    with_30 = _query_counts(client, last.pk)
    assert with_3 == with_30
    assert max(with_30.values()) <= 20, with_30


# --- Zones ----------------------------------------------------------------------------------------


def test_zones_page_is_for_admins(client, alice, admin_user, zone):
    logged_in(client, alice)
    assert client.get("/zones/").status_code == 403
    assert client.post("/zones/us-west-2-wl1/opt-in/").status_code == 403
    logged_in(client, admin_user)
    Zone.objects.create(name="us-east-1-wl1-bos-wlz-1", group_name="us-east-1-wl1", region="us-east-1")
    content = client.get("/zones/").content.decode()
    assert "Opt in group us-east-1-wl1" in content and "AWS Support" in content
    assert 'data-opt-in="not-opted-in">not opted in<' in content


def test_admin_opts_a_group_in_from_the_zones_page(client, admin_user, zone, monkeypatch):
    calls = []
    monkeypatch.setattr(
        "environments.provisioning.zones.zone_group_opt_in",
        lambda *, origin, group, account=None: calls.append((origin.user, origin.source, group)),
    )
    logged_in(client, admin_user)
    # First a confirmation that spells out the consequence; nothing happens without the group's name.
    page = html.unescape(client.get("/zones/us-west-2-wl1/opt-in/").content.decode())
    assert "opting a zone group out again needs a request to AWS Support" in page
    assert "us-west-2-wl1-sfo-wlz-1" in page
    refused = client.post("/zones/us-west-2-wl1/opt-in/", {"confirm": "us-west-2"})
    assert refused.status_code == 200 and "Type us-west-2-wl1 exactly to confirm." in refused.content.decode()
    assert calls == []
    response = client.post("/zones/us-west-2-wl1/opt-in/", {"confirm": "us-west-2-wl1"}, follow=True)
    assert calls == [(admin_user, "web", "us-west-2-wl1")]
    assert b"AWS accepted the opt-in of us-west-2-wl1" in response.content


def test_a_requested_opt_in_shows_until_aws_reports_it(client, admin_user, zone):
    Zone.objects.filter(pk=zone.pk).update(opt_in_status="opt-in-requested")
    logged_in(client, admin_user)

    content = client.get("/zones/").content.decode()

    assert 'data-testid="opt-in-requested"' in content
    assert "Opt in group us-west-2-wl1" not in content  # asked already: no second button


def test_the_page_says_how_to_reach_the_environment(client, alice, make_environment):
    environment = make_environment(alice, key_name="alice-laptop", bastion_ssh_cidr="198.51.100.7/32")
    logged_in(client, alice)
    assert b'id="addresses"' not in client.get(f"/environments/{environment.pk}/").content
    describe_instances(environment)
    content = client.get(f"/environments/{environment.pk}/", REMOTE_ADDR="198.51.100.7").content.decode()
    assert 'data-testid="carrier-ip">155.146.1.2<' in content
    assert "ssh-add ~/.ssh/alice-laptop.pem" in content
    assert "ssh -J ec2-user@203.0.113.10 ec2-user@10.0.0.20" in content
    # From another address the bastion does not admit: no commands, what is missing and the fix.
    elsewhere = html.unescape(client.get(f"/environments/{environment.pk}/", REMOTE_ADDR="203.0.113.99").content.decode())
    assert "ssh -J" not in elsewhere
    assert "The bastion admits SSH only from 198.51.100.7/32; the panel sees you at 203.0.113.99." in elsewhere


def test_security_rules_acls_and_tags_as_tables(client, alice, make_environment):
    environment = make_environment(alice)
    describe_route_tables(environment)
    now = timezone.now()
    environment.resources.filter(key="wavelength_sg").update(
        aws_id="sg-0wl",
        tags={"wlpanel:environment": str(environment.pk), "Name": "edge-1-wavelength"},
        described={
            "GroupId": "sg-0wl",
            "GroupName": "edge-1-wavelength",
            "IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "198.51.100.7/32", "Description": "SSH"}]}
            ],
            "IpPermissionsEgress": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        },
        described_at=now,
    )
    vpc = environment.resources.get(key="vpc")
    vpc.described = {
        "VpcId": "vpc-0a1b2c3d", "CidrBlock": "10.0.0.0/16",
        "NetworkAcls": [{
            "NetworkAclId": "acl-0def", "IsDefault": True, "Associations": [],
            "Entries": [
                {"RuleNumber": 100, "Protocol": "-1", "RuleAction": "allow", "Egress": False, "CidrBlock": "0.0.0.0/0"},
                {"RuleNumber": 32767, "Protocol": "-1", "RuleAction": "deny", "Egress": False, "CidrBlock": "0.0.0.0/0"},
            ],
        }],
    }  # fmt: skip
    vpc.described_at = now
    vpc.save()
    logged_in(client, alice)
    page = html.unescape(client.get(f"/environments/{environment.pk}/").content.decode())
    security = page.split('id="security"')[1].split("</details>")[0]
    rows = [re.sub(r"<[^>]+>", " ", row).split() for row in re.findall(r"<tr>(.*?)</tr>", security, re.S)]
    assert ["inbound", "tcp", "22", "198.51.100.7/32", "SSH"] in rows
    assert ["outbound", "all", "all", "0.0.0.0/0"] in rows
    assert ["100", "inbound", "all", "all", "0.0.0.0/0", "allow"] in rows
    assert ["*", "inbound", "all", "all", "0.0.0.0/0", "deny"] in rows
    assert "Name=edge-1-wavelength" in security and f"wlpanel:environment={environment.pk}" in security


def test_ssh_instructions_are_not_offered_when_they_cannot_work(client, alice, make_environment):
    # The defaults: no key pair, and the bastion admits SSH from no address outside the VPC.
    environment = make_environment(alice)
    describe_instances(environment)
    logged_in(client, alice)
    page = html.unescape(client.get(f"/environments/{environment.pk}/", REMOTE_ADDR="198.51.100.7").content.decode())
    assert "ssh -J" not in page and 'data-testid="ssh-missing"' in page
    assert "No EC2 key pair was chosen, so the instances accept no SSH key at all." in page
    assert "The bastion's security group admits SSH from no address outside the VPC." in page
    assert f'href="/requests/new/?from={environment.request_id}"' in page


def test_wide_ssh_ranges_are_warned_about(client, alice, bob, make_request):
    request = make_request(alice, name="open-ssh", bastion_ssh_cidr="0.0.0.0/0")
    logged_in(client, bob)
    page = html.unescape(client.get(f"/requests/{request.pk}/").content.decode())
    assert "0.0.0.0/0 admits SSH to the bastion from the whole internet" in page
    logged_in(client, alice)
    preview = client.post("/requests/new/preview/", {**FORM, "bastion_ssh_cidr": "52.0.0.0/8"}, **htmx()).content.decode()
    assert "52.0.0.0/8 is a public range of 16,777,216 addresses" in html.unescape(preview)


def test_a_member_asks_the_admins_to_opt_a_group_in(client, alice, admin_user, zone):
    from audit.models import AuditEvent

    zone.opt_in_status = "not-opted-in"
    zone.save()
    logged_in(client, alice)
    page = client.get("/requests/new/").content.decode()
    assert 'data-testid="ask-opt-in"' in page
    response = client.post("/zones/us-west-2-wl1/opt-in/ask/", **htmx())
    assert b'data-testid="opt-in-asked"' in response.content and b"<html" not in response.content
    note = Notification.objects.get(user=admin_user, verb="zone_group.opt_in_asked")
    assert note.link == "/zones/?group=us-west-2-wl1" and "alice asks" in note.message
    assert AuditEvent.objects.filter(action="zone_group.opt_in_asked", actor_username="alice").exists()
    assert client.post("/zones/nowhere-wl1/opt-in/ask/").status_code == 404
