from django.conf import settings
from django.db import models

from environments.models import Environment

from .choices import Method, RunState


class CheckRun(models.Model):
    """One connectivity run on an environment: every probe's expected and observed verdict.

    `items` holds one dict per probe (source, destination, protocol, port, expected, observed,
    verifiable, detail, evidence); `measurements` the path MTUs. A run binds to the plan hash of
    the environment it probed.
    """

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="check_runs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    automatic = models.BooleanField(default=False)
    method = models.CharField(max_length=8, choices=Method.choices)
    state = models.CharField(max_length=8, choices=RunState.choices, default=RunState.RUNNING)
    plan_hash = models.CharField(max_length=64)
    correlation_id = models.CharField(max_length=64, blank=True)
    items = models.JSONField(default=list, blank=True)
    measurements = models.JSONField(default=dict, blank=True)
    agrees = models.BooleanField(null=True, blank=True)
    detail = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["environment", "-started_at"], name="checks_run_env_started")]
        constraints = [
            # The automatic run happens once per environment.
            models.UniqueConstraint(
                fields=["environment"], condition=models.Q(automatic=True), name="checks_one_automatic_run"
            )
        ]

    def __str__(self) -> str:
        return f"check run {self.pk} of {self.environment}"
