"""The zone cache and zone-group opt-in against the sandbox."""

import pytest
from django.core.management import call_command

from audit.context import Origin
from audit.models import AuditEvent, AwsCall
from environments.exceptions import PermissionDenied
from environments.models import Zone
from environments.provisioning.zones import zone_group_opt_in, zone_group_opted_in_wait, zones_refresh
from tests.conftest import SFO, origin_of, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_refresh_caches_wavelength_zones_with_offerings_and_labels(sandbox, settings):
    settings.WLPANEL_AWS_REGIONS = ["us-west-2", "eu-west-3"]
    assert zones_refresh(origin=Origin.system()) > 1
    seed = Zone.objects.get(name=SFO)
    assert seed.region == "us-west-2" and seed.group_name == "us-west-2-wl1"
    assert seed.parent_zone_name and seed.network_border_group == SFO
    assert seed.opt_in_status == "not-opted-in"
    assert "t3.medium" in seed.instance_types
    assert seed.carrier == "Verizon" and seed.metro  # curated labels: AWS does not say
    assert seed.described_at is not None
    assert Zone.objects.filter(region="eu-west-3").exists()
    assert AwsCall.objects.filter(operation="DescribeAvailabilityZones", outcome="ok").count() == 2


def test_only_an_admin_opts_a_group_in(sandbox, alice):
    zones_refresh(origin=Origin.system())
    with pytest.raises(PermissionDenied):
        zone_group_opt_in(origin=origin_of(alice), group="us-west-2-wl1")
    assert not AuditEvent.objects.filter(action__startswith="zone_group.").exists()


def test_opt_in_answers_at_once_and_a_worker_follows_it_until_aws_reports_it(sandbox, admin_user, start_worker):
    start_worker(concurrency=1)
    zones_refresh(origin=Origin.system())
    origin = origin_of(admin_user)

    zones = zone_group_opt_in(origin=origin, group="us-west-2-wl1")

    # The sandbox, like AWS, opts the group in a while after accepting the request (1 s in tests).
    assert zones and {zone.opt_in_status for zone in zones} == {"opt-in-requested"}
    # The worker writes the group's zones one at a time, then records the opt-in: wait for that
    # record, not for the first zone (the others may not be written yet).
    wait_for(
        lambda: AuditEvent.objects.filter(action="zone_group.opted_in").exists(),
        timeout=60,
        message="the worker to see the opt-in",
    )
    assert Zone.objects.get(name=SFO).opted_in
    assert all(zone.opted_in for zone in Zone.objects.filter(group_name="us-west-2-wl1"))
    events = AuditEvent.objects.filter(action__startswith="zone_group.").order_by("id")
    assert [event.action for event in events] == ["zone_group.opt_in_requested", "zone_group.opted_in"]
    assert {event.correlation_id for event in events} == {origin.correlation_id}
    intent, call = AwsCall.objects.filter(operation="ModifyAvailabilityZoneGroup").order_by("id")
    assert intent.outcome == "intent"  # written ahead of the call
    assert call.outcome == "ok" and call.params == {"GroupName": "us-west-2-wl1", "OptInStatus": "opted-in"}
    assert AuditEvent.objects.filter(action="aws.ModifyAvailabilityZoneGroup").exists()


def test_demo_zones_opts_in_the_seed_group_on_the_embedded_sandbox(sandbox, admin_user, monkeypatch, settings):
    settings.WLPANEL_AWS_REGIONS = ["us-west-2"]
    monkeypatch.setenv("WLPANEL_SANDBOX_EMBEDDED", "1")
    call_command("demo_zones")
    assert Zone.objects.get(name=SFO).opted_in
    event = AuditEvent.objects.get(action="zone_group.opted_in")
    # The demo setup chose it, not the admin: the system's action, from the shell.
    assert event.actor_username == "" and event.actor_id is None and event.source == "shell"


def test_the_members_who_asked_are_told_when_the_group_is_opted_in(sandbox, admin_user, alice, bob):
    from notify.models import Notification

    zones_refresh(origin=Origin.system())
    origin_of(alice).record(action="zone_group.opt_in_asked", target=None, target_repr="us-west-2-wl1", details={})
    origin_of(alice).record(action="zone_group.opt_in_asked", target=None, target_repr="us-west-2-wl1", details={})
    origin_of(bob).record(action="zone_group.opt_in_asked", target=None, target_repr="us-east-1-wl1", details={})
    zone_group_opt_in(origin=origin_of(admin_user), group="us-west-2-wl1")
    # AWS has accepted, not yet opted in: nobody is told before a refresh sees it.
    assert not Notification.objects.filter(verb="zone_group.opted_in").exists()
    zone_group_opted_in_wait(group="us-west-2-wl1", origin=Origin.system())
    told = list(Notification.objects.filter(verb="zone_group.opted_in").values_list("user__username", "message"))
    assert told == [("alice", "The zone group us-west-2-wl1 you asked for is opted in: its zones can be requested now.")]
