from django.conf import settings
from django.db import models

from .choices import ALL_EVENTS, DeliveryState, WebhookFormat


class Notification(models.Model):
    """An in-panel notification (also sent by email)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    verb = models.CharField(max_length=48)
    message = models.CharField(max_length=500)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Moved from the environments app with its table: no data migration.
        db_table = "environments_notification"
        ordering = ["-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread_idx")]

    def __str__(self):
        return f"{self.user}: {self.message}"


class WebhookEndpoint(models.Model):
    """Where a team's events are POSTed, signed with the endpoint's secret (docs/api.md, "Webhooks")."""

    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    format = models.CharField(max_length=8, choices=WebhookFormat.choices, default=WebhookFormat.JSON)
    # Event names (see notify.choices.EVENTS) or ["*"] for all of them.
    events = models.JSONField(default=list)
    # Kept as it is: signing needs it. Never shown again, never in the audit log.
    secret = models.CharField(max_length=256)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.team.slug} → {self.url}"

    @property
    def is_enabled(self) -> bool:
        return self.disabled_at is None

    def wants(self, event: str) -> bool:
        return ALL_EVENTS in self.events or event in self.events


class WebhookDelivery(models.Model):
    """One event for one endpoint: its attempts, the last answer and when it is tried again."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=64)
    # What the body says besides `event`, `at` and `delivery` (which are set at each attempt).
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=12, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["endpoint", "-id"], name="delivery_endpoint_id_idx"),
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due_idx"),
        ]

    def __str__(self):
        return f"{self.event} → {self.endpoint_id} ({self.state})"

    @property
    def state_badge(self) -> str:
        return DeliveryState.badge(self.state)


class NotificationPreference(models.Model):
    """Where one event goes, for a person or as a team's default (exactly one of the two).

    A person's choice wins over their team's default, which wins over "everywhere". `webhook` is a
    team's switch over all its endpoints (each endpoint also picks its events); a person's is unused.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="notification_preferences")
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="notification_preferences")
    event = models.CharField(max_length=64)
    in_panel = models.BooleanField(default=True)
    email = models.BooleanField(default=True)
    webhook = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, team__isnull=True) | models.Q(user__isnull=True, team__isnull=False),
                name="preference_of_a_person_or_a_team",
            ),
            models.UniqueConstraint(fields=["user", "event"], condition=models.Q(user__isnull=False), name="one_preference_per_person_event"),
            models.UniqueConstraint(fields=["team", "event"], condition=models.Q(team__isnull=False), name="one_preference_per_team_event"),
        ]

    def __str__(self):
        return f"{self.user or self.team}: {self.event}"


class NotificationClaim(models.Model):
    """A notification that must go out once (an expiry warning for one expiry time and stage):
    whoever inserts the key sends it; everyone after finds it taken."""

    key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.key
