"""Fill the zone cache from AWS (or the sandbox); on the embedded sandbox, opt in the seed's group."""

import os

from django.core.management.base import BaseCommand

from audit.choices import Source
from audit.context import Origin
from clouds.models import AwsAccount
from environments.models import Zone
from environments.provisioning.zones import zone_group_opt_in, zone_group_opted_in_wait, zones_refresh

SEED_ZONE = "us-west-2-wl1-sfo-wlz-1"


class Command(BaseCommand):
    help = (
        "Refresh the Wavelength Zone cache. When WLPANEL_SANDBOX_EMBEDDED=1 (set by `make run` when it "
        f"started the sandbox), also opt in the zone group of {SEED_ZONE}, audited as the system's action "
        "(the demo setup's, from the shell): no person chose it."
    )

    def handle(self, *args, **options):
        origin = Origin.system(source=Source.SHELL)
        count = zones_refresh(origin=origin)
        self.stdout.write(f"Zone cache refreshed: {count} Wavelength Zones.")
        if os.environ.get("WLPANEL_SANDBOX_EMBEDDED") != "1":
            return
        group = Zone.objects.filter(name=SEED_ZONE).values_list("group_name", flat=True).first()
        if not group:
            self.stderr.write(f"{SEED_ZONE} is not in the zone cache; nothing opted in.")
            return
        # In the panel's own account and in each registered one (opt-ins are per account).
        for account in [None, *AwsAccount.objects.order_by("pk")]:
            zone_group_opt_in(origin=origin, group=group, account=account)
            # The shell may wait for AWS (the web never does): the demo's first build needs the zone.
            zones = zone_group_opted_in_wait(group=group, origin=origin, account=account)
            opted = sum(zone.opted_in for zone in zones)
            where = f"account {account}" if account else "the panel's own account"
            self.stdout.write(f"Zone group {group} opted in on the embedded sandbox in {where} ({opted} zones).")
