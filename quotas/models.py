"""The stored pre-flight reading of one (account, Region): what pages show, never read from AWS.

A table rather than the Django cache: the cache is per process (settings.CACHES), while the
worker writes this and every web process reads it; a row also survives restarts and works on
the embedded SQLite stand-in.
"""

from django.db import models


class QuotaSnapshot(models.Model):
    account_key = models.CharField(max_length=64, help_text="`self`, or the AWS account the quotas belong to.")
    region = models.CharField(max_length=32)
    quotas = models.JSONField(default=dict, blank=True, help_text="{quota code: value read, or its error}")
    usage = models.JSONField(default=dict, blank=True, help_text="What the Region holds that the quotas count.")
    instance_types = models.JSONField(
        default=list, blank=True, help_text="Types whose vCPUs each refresh reads (those requests asked for)."
    )
    checked_at = models.DateTimeField(null=True, blank=True, help_text="When quotas and usage were last read.")
    requested_at = models.DateTimeField(null=True, blank=True, help_text="When a refresh was last enqueued.")
    error = models.TextField(blank=True, help_text="Why the last refresh failed; empty when it worked.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account_key", "region"], name="quota_snapshot_unique")]

    def __str__(self) -> str:
        return f"{self.account_key}/{self.region}"
