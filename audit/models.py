from django.db import models

from .choices import ChainScheme, Source


class AuditEvent(models.Model):
    """One append-only row of the audit trail. Written only by `audit.services.record`.

    Actor and target are kept as values, not foreign keys, so deleting a user or an environment
    neither cascades into nor nulls the trail. `hash` covers the row's content and `prev_hash`.
    A PostgreSQL trigger (migration 0002) refuses UPDATE and DELETE.
    """

    created_at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True, db_index=True)
    source = models.CharField(max_length=8, choices=Source.choices)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    team_slug = models.CharField(max_length=50, blank=True, db_index=True)
    environment_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True, db_index=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    # How `hash` was made. Rows written before the chain was keyed keep the plain SHA-256 scheme
    # (the column's database default, so a raw INSERT that omits it claims the old scheme).
    chain_scheme = models.PositiveSmallIntegerField(choices=ChainScheme.choices, db_default=ChainScheme.SHA256)

    class Meta:
        ordering = ["-id"]
        # Every review filter is "equal to X, newest first, below a keyset cursor": one
        # (filter, id) btree each serves it without a sort. Free text has a trigram GIN index on
        # PostgreSQL (migration 0003), kept out of Meta so SQLite fallbacks still migrate.
        indexes = [
            models.Index(fields=["environment_id", "id"], name="audit_env_id_idx"),
            models.Index(fields=["team_slug", "id"], name="audit_team_id_idx"),
            models.Index(fields=["actor_username", "id"], name="audit_actor_id_idx"),
            models.Index(fields=["action", "id"], name="audit_action_id_idx"),
            models.Index(fields=["source", "id"], name="audit_source_id_idx"),
        ]

    def __str__(self):
        return f"#{self.pk} {self.action} by {self.actor_username or '-'}"


class AwsCall(models.Model):
    """One AWS API call as the client saw it (after botocore's own retries).

    Linked to its environment and to the audit row of the action that caused it. Append-only and
    hash-chained too.
    """

    created_at = models.DateTimeField(db_index=True)
    service = models.CharField(max_length=32, default="ec2")
    region = models.CharField(max_length=32)
    account_id = models.CharField(
        max_length=12, blank=True, default="", db_default="", help_text="The AWS account acted in; empty: the panel's own."
    )
    operation = models.CharField(max_length=64, db_index=True)
    params = models.JSONField(default=dict, blank=True)
    mutating = models.BooleanField(default=False)
    outcome = models.CharField(max_length=64, help_text="`ok` or the AWS error code.")
    error_message = models.TextField(blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField()
    retries = models.PositiveSmallIntegerField(default=0)
    request_id = models.CharField(max_length=64, blank=True)
    environment_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    resource_key = models.CharField(max_length=64, blank=True)
    correlation_id = models.CharField(max_length=64, blank=True, db_index=True)
    cause_event_id = models.BigIntegerField(null=True, blank=True, help_text="Audit row of the causing action.")
    # A keyed chain of its own (the call log is written far more often than the audit rows); calls
    # logged before it existed keep empty hashes and the UNCHAINED scheme.
    prev_hash = models.CharField(max_length=64, db_default="")
    hash = models.CharField(max_length=64, db_default="")
    chain_scheme = models.PositiveSmallIntegerField(choices=ChainScheme.choices, db_default=ChainScheme.UNCHAINED)

    class Meta:
        ordering = ["-id"]
        # An audit row's detail page lists the calls it caused.
        indexes = [models.Index(fields=["cause_event_id"], name="audit_awscall_cause_idx")]

    def __str__(self):
        return f"{self.operation} {self.outcome}"
