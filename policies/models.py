"""Approval policies (versioned: a change adds a version, none is edited) and team limits.

Both are edited by admins in the Django admin; every change is an audit row (`policies.services`).
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from accounts.models import Team

from .evaluator import FOUR_EYES_MINIMUM, MAX_APPROVALS, policy_errors


class ApprovalPolicy(models.Model):
    """One version of a team's approval policy; the team's highest version applies to new requests."""

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="approval_policies")
    version = models.PositiveIntegerField(editable=False)
    approval_window_hours = models.PositiveIntegerField(
        null=True, blank=True, help_text="A pending request expires after this many hours; empty: never."
    )
    default_approvals = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(FOUR_EYES_MINIMUM)],
        help_text=f"Distinct approvers (never the requester) when no rule applies; {FOUR_EYES_MINIMUM} to {MAX_APPROVALS}.",
    )
    rules = models.JSONField(
        default=list,
        blank=True,
        help_text='e.g. [{"name": "costly or long", "approvals_required": 2, "min_hourly_usd": 1.0, "min_ttl_hours": 168}]',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True, editable=False)

    class Meta:
        ordering = ["team", "-version"]
        verbose_name_plural = "approval policies"
        constraints = [
            models.UniqueConstraint(fields=["team", "version"], name="one_policy_version_per_team"),
            # Four eyes in the database too: no policy approves with fewer than one other person.
            models.CheckConstraint(condition=Q(default_approvals__gte=FOUR_EYES_MINIMUM), name="policy_four_eyes"),
        ]

    def __str__(self):
        return f"{self.team.slug} policy v{self.version}"

    def as_data(self) -> dict:
        return {
            "version": self.version,
            "approval_window_hours": self.approval_window_hours,
            "default_approvals": self.default_approvals,
            "rules": self.rules,
        }

    def clean(self):
        errors = policy_errors({**self.as_data(), "version": self.version or 0})
        if errors:
            raise ValidationError({"rules": errors})


class TeamLimits(models.Model):
    """What a team may spend and run; checked when a request is made and again at approval."""

    team = models.OneToOneField(Team, on_delete=models.PROTECT, related_name="limits")
    monthly_budget_usd = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Estimated monthly spend of live and approved environments (730 h a month); empty: none.",
    )
    max_live_environments = models.PositiveIntegerField(null=True, blank=True)
    instance_types = models.JSONField(default=list, blank=True, help_text='Allowed types, e.g. ["t3.medium"]; empty: any.')
    max_ttl_hours = models.PositiveIntegerField(null=True, blank=True, help_text="Besides the team's own maximum lifetime.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "team limits"

    def __str__(self):
        return f"{self.team.slug} limits"

    def as_data(self) -> dict:
        return {
            "monthly_budget_usd": (
                str(Decimal(str(self.monthly_budget_usd)).quantize(Decimal("0.01"))) if self.monthly_budget_usd is not None else None
            ),
            "max_live_environments": self.max_live_environments,
            "instance_types": list(self.instance_types or []),
            "max_ttl_hours": self.max_ttl_hours,
        }

    def clean(self):
        if not isinstance(self.instance_types, list) or not all(isinstance(item, str) for item in self.instance_types):
            raise ValidationError({"instance_types": ["A list of instance type names."]})
