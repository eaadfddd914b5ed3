# The Notification model moved to the notify app with its table: state only.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("environments", "0002_workerheartbeat"),
        ("notify", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Notification")],
            database_operations=[],
        ),
    ]
