import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import services
from accounts.choices import GlobalRole, TeamRole
from accounts.models import Team
from audit.choices import Source
from audit.context import Origin

DEMO_USERS = {
    # username: (team role, global role, superuser)
    "alice": (TeamRole.MEMBER, GlobalRole.NONE, False),
    "bob": (TeamRole.APPROVER, GlobalRole.NONE, False),
    "carol": (None, GlobalRole.AUDITOR, False),
    "admin": (None, GlobalRole.NONE, True),
}


class Command(BaseCommand):
    help = (
        "Create the demo team and users (alice member, bob approver, carol auditor, admin). "
        "Their password is --password or $WLPANEL_DEMO_PASSWORD (which resets existing users'), "
        "else one is generated for new users and printed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--password", default="", help="Prefer $WLPANEL_DEMO_PASSWORD: arguments show in `ps`.")

    def handle(self, *args, password: str, **options):
        password = password or os.environ.get("WLPANEL_DEMO_PASSWORD", "")
        origin = Origin.system(source=Source.SHELL)
        generated = not password
        password = password or secrets.token_urlsafe(12)
        created_any = False
        with transaction.atomic():
            # Through accounts.services, so each user, membership and password set is audited.
            team = Team.objects.filter(slug="demo").first() or services.team_save(
                origin=origin, team=Team(slug="demo", name="Demo team")
            )
            for username, (role, global_role, superuser) in DEMO_USERS.items():
                user = get_user_model().objects.filter(username=username).first()
                created = user is None
                if created:
                    user = services.user_save(
                        origin=origin,
                        user=get_user_model()(
                            username=username,
                            email=f"{username}@demo.wlpanel.test",
                            global_role=global_role,
                            is_superuser=superuser,
                            is_staff=superuser,
                        ),
                    )
                if created or not generated:
                    services.user_password_set(origin=origin, user=user, password=password)
                created_any |= created
                if role is not None:
                    services.membership_set(origin=origin, team=team, user=user, role=role)
        if generated and created_any:
            self.stdout.write(f"Demo users alice, bob, carol and admin have the password: {password}")
        elif generated:
            self.stdout.write("Demo users exist already; set WLPANEL_DEMO_PASSWORD to reset their password.")
        else:
            self.stdout.write("Demo users alice, bob, carol and admin have the password you gave.")
