"""The zone cache and zone-group opt-in against the sandbox."""

import pytest
from django.core.management import call_command

from audit.context import Origin
from audit.models import AuditEvent, AwsCall
from environments.exceptions import PermissionDenied
from environments.models import Zone
from environments.provisioning.zones import zone_group_opt_in, zones_refresh
from tests.conftest import SFO, origin_of

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


def test_opt_in_is_audited_and_returns_once_the_cache_shows_it(sandbox, admin_user):
    zones_refresh(origin=Origin.system())
    zones = zone_group_opt_in(origin=origin_of(admin_user), group="us-west-2-wl1")
    assert zones and all(zone.opted_in for zone in zones)
    assert Zone.objects.get(name=SFO).opt_in_status == "opted-in"
    actions = list(AuditEvent.objects.filter(action__startswith="zone_group.").order_by("id").values_list("action", flat=True))
    assert actions == ["zone_group.opt_in_requested", "zone_group.opted_in"]
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
    assert event.actor_username == "admin" and event.source == "shell"
