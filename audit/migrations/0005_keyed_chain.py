"""Keyed chain: each row says how its hash was made (docs/audit.md, "Tamper evidence").

Existing audit rows keep the plain SHA-256 scheme and still verify; rows written from now on are
HMAC-SHA256 with WLPANEL_AUDIT_KEY. The AWS call log gets a chain of its own; calls logged before
stay unchained. On PostgreSQL 11+ a column with a constant default is added without rewriting
the rows, so the append-only trigger is not involved.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0004_search_trigram'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditevent',
            name='chain_scheme',
            field=models.PositiveSmallIntegerField(choices=[(0, 'Not chained (AWS calls logged before the call log was chained)'), (1, 'SHA-256 of the previous hash and the content (before the chain was keyed)'), (2, 'HMAC-SHA256 with WLPANEL_AUDIT_KEY')], db_default=1),
        ),
        migrations.AddField(
            model_name='awscall',
            name='chain_scheme',
            field=models.PositiveSmallIntegerField(choices=[(0, 'Not chained (AWS calls logged before the call log was chained)'), (1, 'SHA-256 of the previous hash and the content (before the chain was keyed)'), (2, 'HMAC-SHA256 with WLPANEL_AUDIT_KEY')], db_default=0),
        ),
        migrations.AddField(
            model_name='awscall',
            name='hash',
            field=models.CharField(db_default='', max_length=64),
        ),
        migrations.AddField(
            model_name='awscall',
            name='prev_hash',
            field=models.CharField(db_default='', max_length=64),
        ),
    ]
