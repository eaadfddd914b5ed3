"""Fill the zone cache from AWS (or the sandbox); on the embedded sandbox, opt in the seed's group."""

import os

from django.core.management.base import BaseCommand

from audit.choices import Source
from audit.context import Origin
from environments.models import Zone
from environments.provisioning.zones import zone_group_opt_in, zones_refresh

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
        zones = zone_group_opt_in(origin=origin, group=group)
        opted = sum(zone.opted_in for zone in zones)
        self.stdout.write(f"Zone group {group} opted in on the embedded sandbox ({opted} zones).")
