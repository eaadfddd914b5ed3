from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from accounts.services import api_token_issue


class Command(BaseCommand):
    help = "Issue an API bearer token for USER. Prints only the token, as the last line; only its hash is stored."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        try:
            user = get_user_model().objects.get(username=username, is_active=True)
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No active user named {username!r}.") from exc
        token = api_token_issue(user=user)
        # Said on stderr (stdout's last line stays the token alone): a token stored in another
        # database than the panel's is refused by the panel, which would not say why.
        database = connection.settings_dict
        where = f"{database['ENGINE'].rsplit('.', 1)[-1]} database {database['NAME']}"
        if database.get("HOST"):
            where += f" on {database['HOST']}:{database.get('PORT') or 'default port'}"
        self.stderr.write(f"Token for {username} stored in the {where} (DATABASE_URL chooses it).")
        self.stdout.write(token)
