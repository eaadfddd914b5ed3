from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.fields.json import KeyTransform

from accounts.models import Team
from clouds.models import AwsAccount

from .choices import (
    ENVIRONMENT_TERMINAL_STATES,
    Drift,
    EnvironmentState,
    RequestState,
    ResourceKind,
    ResourceState,
)


class Zone(models.Model):
    """A Wavelength Zone as last described from AWS (DescribeAvailabilityZones), cached.

    Pages read this table, never AWS. `carrier` and `metro` are curated labels that
    DescribeAvailabilityZones does not return.
    """

    # Zones, their opt-in and offerings are per AWS account (AWS: "the number and mapping of
    # Wavelength Zones per Region might vary between AWS accounts"); None: the panel's own account.
    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, null=True, blank=True, related_name="zones")
    name = models.CharField(max_length=64, help_text="ZoneName, also its NetworkBorderGroup.")
    zone_id = models.CharField(max_length=64, blank=True)
    group_name = models.CharField(max_length=64, db_index=True)
    region = models.CharField(max_length=32, db_index=True)
    parent_zone_name = models.CharField(max_length=64, blank=True)
    parent_zone_id = models.CharField(max_length=64, blank=True)
    network_border_group = models.CharField(max_length=64, blank=True)
    opt_in_status = models.CharField(max_length=32, default="not-opted-in")
    carrier = models.CharField(max_length=64, blank=True)
    metro = models.CharField(max_length=64, blank=True)
    instance_types = models.JSONField(default=list, blank=True)
    described_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["region", "name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="zone_name_per_account"),
            models.UniqueConstraint(fields=["name"], condition=Q(account=None), name="zone_name_own_account"),
        ]

    def __str__(self):
        return self.name

    @property
    def opted_in(self) -> bool:
        return self.opt_in_status == "opted-in"

    @property
    def opt_in_requested(self) -> bool:
        """Asked of AWS; AWS has not reported it yet."""
        return self.opt_in_status == "opt-in-requested"


class EnvironmentRequest(models.Model):
    """What a member asked for. Approval by a teammate (never the requester) creates the environment."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="requests")
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=40)
    purpose = models.CharField(max_length=500, blank=True)
    zone = models.ForeignKey(Zone, on_delete=models.PROTECT, related_name="+")
    # The account the zone belongs to (None: the panel's own); also in the plan, so in its hash.
    account = models.ForeignKey(AwsAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    instance_type = models.CharField(max_length=32)
    bastion = models.BooleanField(default=True)
    vpc_cidr = models.CharField(max_length=18, default="10.0.0.0/16")
    public_subnet_cidr = models.CharField(max_length=18, default="10.0.1.0/24")
    wavelength_subnet_cidr = models.CharField(max_length=18, default="10.0.0.0/24")
    bastion_ssh_cidr = models.CharField(max_length=18, blank=True)
    wavelength_ingress = models.JSONField(default=list)
    ttl_hours = models.PositiveIntegerField(default=72)
    key_name = models.CharField(max_length=255, blank=True, help_text="Existing EC2 key pair, optional.")
    image_id = models.CharField(max_length=64, blank=True, help_text="AMI override; empty: current Amazon Linux.")

    plan = models.JSONField(default=dict)
    plan_hash = models.CharField(max_length=64)

    state = models.CharField(max_length=16, choices=RequestState.choices, default=RequestState.PENDING, db_index=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.CharField(max_length=1000, blank=True)
    prefilled_from = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    # The approval policy's verdict (policies.evaluator): rule, approvals_required, reasons, version.
    # Beside the plan, not in it: the plan hash covers what is built, not who must agree.
    policy = models.JSONField(default=dict, blank=True)
    approval_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Four eyes, in the database too: whoever decides is never the requester.
            models.CheckConstraint(condition=~Q(decided_by=F("requester")), name="request_not_decided_by_requester"),
        ]

    def __str__(self):
        return f"{self.team.slug}/{self.name}"


class RequestApproval(models.Model):
    """One approver's approval of a pending request; the last one its policy requires approves it."""

    request = models.ForeignKey(EnvironmentRequest, on_delete=models.CASCADE, related_name="approvals")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    plan_hash = models.CharField(max_length=64)
    comment = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["request_id", "id"]
        constraints = [
            # Distinct approvers: one approval per person per request.
            models.UniqueConstraint(fields=["request", "approver"], name="one_approval_per_approver"),
        ]

    def __str__(self):
        return f"{self.request_id} approved by {self.approver_id}"


class Environment(models.Model):
    """An approved request's environment in AWS. Its resources are the plan's steps."""

    request = models.OneToOneField(EnvironmentRequest, on_delete=models.PROTECT, related_name="environment")
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="environments")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=40)
    zone = models.ForeignKey(Zone, on_delete=models.PROTECT, related_name="environments")
    account = models.ForeignKey(AwsAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="environments")
    region = models.CharField(max_length=32)
    plan = models.JSONField(default=dict)
    plan_hash = models.CharField(max_length=64)

    state = models.CharField(
        max_length=16, choices=EnvironmentState.choices, default=EnvironmentState.PROVISIONING, db_index=True
    )
    state_changed_at = models.DateTimeField(auto_now_add=True)
    failure_reason = models.TextField(blank=True)
    failure_hint = models.TextField(blank=True, help_text="What the user can do about the failure.")
    failure_code = models.CharField(max_length=64, blank=True)
    # The operation in flight (build, retry, destroy): its correlation id and the audit row that started it.
    correlation_id = models.CharField(max_length=64, default="", blank=True)
    cause_event_id = models.BigIntegerField(null=True, blank=True)

    expires_at = models.DateTimeField(db_index=True)
    expiry_warned_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)
    described_at = models.DateTimeField(null=True, blank=True, help_text="Last drift refresh.")
    # Resources carrying this environment's wlpanel:* tags that the database does not know.
    orphans = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["team", "name"],
                condition=~Q(state__in=list(ENVIRONMENT_TERMINAL_STATES)),
                name="unique_live_environment_name_per_team",
            )
        ]
        indexes = [
            models.Index(fields=["team", "-id"], name="env_team_id_idx"),
            # The environments list's count by state: an index-only scan instead of reading the rows.
            models.Index(fields=["state", "team"], name="env_state_team_idx"),
        ]

    def __str__(self):
        return f"{self.team.slug}/{self.name}"

    @property
    def is_terminal(self) -> bool:
        return self.state in ENVIRONMENT_TERMINAL_STATES


class Resource(models.Model):
    """One AWS resource the environment owns, and the plan step that creates and deletes it.

    `key` is the step's key in the plan (`vpc`, `wavelength_subnet`, ...). Work on a step is
    claimed with a lease (`lease_until`), so steps run in parallel and never twice at once.
    """

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="resources")
    key = models.CharField(max_length=48)
    kind = models.CharField(max_length=24, choices=ResourceKind.choices)
    depends_on = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=12, choices=ResourceState.choices, default=ResourceState.PENDING)
    aws_id = models.CharField(max_length=64, blank=True, db_index=True)
    client_token = models.CharField(max_length=64, blank=True)
    tags = models.JSONField(default=dict, blank=True)
    # Step-specific progress: attachment done, route created, association id, rule set applied, ...
    progress = models.JSONField(default=dict, blank=True)

    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=64, blank=True)
    create_started_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_code = models.CharField(max_length=64, blank=True)

    described = models.JSONField(null=True, blank=True, help_text="What AWS last said about it (Describe*).")
    described_at = models.DateTimeField(null=True, blank=True)
    drift = models.CharField(max_length=8, choices=Drift.choices, default=Drift.NONE, blank=True)

    class Meta:
        ordering = ["environment_id", "id"]
        constraints = [models.UniqueConstraint(fields=["environment", "key"], name="one_resource_per_plan_key")]
        # The environments page's search by address (`queries._resources_named`): without these,
        # every search reads every description.
        indexes = [
            models.Index(KeyTransform(key, "described"), name=name)
            for key, name in (
                ("CarrierIp", "resource_carrier_ip_idx"),
                ("PublicIpAddress", "resource_public_ip_idx"),
                ("PrivateIpAddress", "resource_private_ip_idx"),
            )
        ]

    def __str__(self):
        return f"{self.environment_id}:{self.key}"


class Installation(models.Model):
    """This panel's identity in AWS: one row, generated with the database (see `installation_id`).

    Tags and ClientTokens carry it, so two panels on one account, or this one on a re-created
    database, never adopt (nor delete) each other's resources although environment ids repeat.
    """

    uid = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.uid


class WorkerHeartbeat(models.Model):
    """What a Celery worker's main process last said about itself (environments.provisioning.liveness).

    Written every few seconds from the worker's event loop, so a fresh `beat_at` proves the loop
    runs; `received_at` is the last task message it took from the broker. One row per node name:
    a restarted worker overwrites its predecessor's row.
    """

    node = models.CharField(max_length=255, unique=True, help_text="Celery node name, e.g. celery@host.")
    hostname = models.CharField(max_length=255, db_index=True)
    pid = models.PositiveIntegerField()
    queues = models.JSONField(default=list)
    capacity = models.PositiveIntegerField(help_text="Messages it may hold at once (concurrency x prefetch).")
    reserved = models.PositiveIntegerField(default=0, help_text="Messages it held (prefetched or running).")
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField()
    received_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["node"]

    def __str__(self):
        return f"{self.node} (pid {self.pid})"


class ExtensionRequest(models.Model):
    """Keeping an environment beyond its team's maximum lifetime: an approver of the team, never
    the person asking, decides (states as a request's: pending → approved | rejected | cancelled)."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="extension_requests")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    hours = models.PositiveIntegerField()
    reason = models.CharField(max_length=500, blank=True)
    state = models.CharField(max_length=16, choices=RequestState.choices, default=RequestState.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment"], condition=Q(state=RequestState.PENDING), name="one_pending_extension_per_environment"
            )
        ]

    def __str__(self):
        return f"{self.environment_id}: +{self.hours} h ({self.state})"


class NetworkView(models.Model):
    """What the detail page shows from the described network (traffic matrix, topology SVG, security
    tables), computed by the worker when a description lands (`environments.network_view`).

    `version` is a digest of the descriptions it was computed from (and of the templates that
    rendered it): a page whose resources digest to another version recomputes it instead of
    showing a stale one.
    """

    environment = models.OneToOneField(Environment, on_delete=models.CASCADE, primary_key=True, related_name="network_view")
    version = models.CharField(max_length=64)
    traffic = models.JSONField(default=dict, help_text="items, pairs, pending (netmodel's matrix as dicts).")
    svg = models.TextField(blank=True)
    security = models.JSONField(default=dict, help_text="groups, acls, resources: the security tables.")
    # The page's parts rendered from the above (templates _traffic_matrix.html and _security.html).
    matrix_html = models.TextField(blank=True)
    security_html = models.TextField(blank=True)
    described_at = models.DateTimeField(null=True, blank=True, help_text="The newest description it reflects.")
    computed_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"{self.environment_id}@{self.version[:12]}"
