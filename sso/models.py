from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from accounts.choices import TeamRole


class GlobalGrant(models.TextChoices):
    AUDITOR = "auditor", "Auditor (reads everything, changes nothing)"
    ADMIN = "admin", "Admin (manages teams and users, opts zones in)"


class GroupRule(models.Model):
    """Members of the provider's `group` get a role in a team, or a global role."""

    group = models.CharField(max_length=255, help_text="The group's name exactly as the provider's groups claim carries it.")
    team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="group_rules")
    team_role = models.CharField(max_length=16, choices=TeamRole.choices, blank=True)
    global_role = models.CharField(max_length=16, choices=GlobalGrant.choices, blank=True)

    class Meta:
        ordering = ["group", "id"]
        constraints = [
            models.CheckConstraint(
                name="group_rule_grants_one_thing",
                condition=(
                    models.Q(team__isnull=False, global_role="") & ~models.Q(team_role="")
                    | models.Q(team__isnull=True, team_role="") & ~models.Q(global_role="")
                ),
            ),
            models.UniqueConstraint(fields=["group", "team"], name="one_team_rule_per_group"),
        ]

    def __str__(self):
        granted = f"{self.team_role} of {self.team}" if self.team_id else self.global_role
        return f"{self.group} → {granted}"

    def clean(self):
        if (self.team_id is None) == (not self.global_role):
            raise ValidationError("A rule grants either a role in a team or a global role, not both and not neither.")
        if self.team_id is not None and not self.team_role:
            raise ValidationError({"team_role": "Choose the role in the team."})

    def as_dict(self) -> dict:
        return {"group": self.group, "team": self.team.slug if self.team_id else None,
                "team_role": self.team_role, "global_role": self.global_role}


class Identity(models.Model):
    """Which provider account a user is: (issuer, subject) never changes, unlike names and emails."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity")
    issuer = models.CharField(max_length=500)
    subject = models.CharField(max_length=255)
    groups = models.JSONField(default=list, blank=True, help_text="The groups claim at the last login.")
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["issuer", "subject"], name="one_user_per_provider_subject")]

    def __str__(self):
        return f"{self.user} ({self.subject} at {self.issuer})"
