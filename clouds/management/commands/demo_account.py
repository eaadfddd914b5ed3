"""On the embedded sandbox: the demo team's own AWS account, set up as a customer would set it up."""

import os

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Team
from audit.choices import Source
from audit.context import Origin
from clouds import services
from clouds.models import AwsAccount

DEMO_ACCOUNT_ID = "210987654321"
DEMO_ROLE = "wlpanel-access"
DEMO_TEAM = "demo"


class Command(BaseCommand):
    help = (
        f"When WLPANEL_SANDBOX_EMBEDDED=1 (set by `make run`): create the role the panel assumes in the demo "
        f"account {DEMO_ACCOUNT_ID} through the sandbox's control path (what a customer does in their own "
        f"account), then register that account for team {DEMO_TEAM} as its default. Idempotent."
    )

    def handle(self, *args, **options):
        if os.environ.get("WLPANEL_SANDBOX_EMBEDDED") != "1":
            self.stdout.write("Not on the embedded sandbox: no demo account.")
            return
        team = Team.objects.filter(slug=DEMO_TEAM).first()
        if team is None:
            raise CommandError(f"No team {DEMO_TEAM}: run `manage.py demo_setup` first.")
        origin = Origin.system(source=Source.SHELL)
        account = AwsAccount.objects.filter(account_id=DEMO_ACCOUNT_ID).first()
        external_id = account.external_id if account else services.external_id_new()
        answer = requests.post(
            f"{settings.WLPANEL_AWS_ENDPOINT.rstrip('/')}/_sandbox/accounts",
            json={"account_id": DEMO_ACCOUNT_ID, "role_name": DEMO_ROLE, "external_id": external_id},
            timeout=10,
        )
        if answer.status_code != 201:
            raise CommandError(f"The sandbox did not create the demo role: {answer.status_code} {answer.text[:300]}")
        if account is None:
            account = services.account_create(
                origin=origin,
                account_id=DEMO_ACCOUNT_ID,
                name="demo-sandbox",
                role_arn=answer.json()["role_arn"],
                external_id=external_id,
                regions=list(settings.WLPANEL_AWS_REGIONS),
                teams=[team],
                default_for=[team],
            )
        self.stdout.write(f"Demo AWS account {account} bound to team {team.slug} (role {account.role_arn}).")
