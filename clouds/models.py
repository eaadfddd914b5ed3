"""AWS accounts the panel builds in, each reached through a role it assumes, bound to teams."""

from django.db import models
from django.db.models import Q

from accounts.models import Team


class AwsAccount(models.Model):
    """One AWS account: the role the panel assumes there (with an external id), its Regions.

    No keys: the panel acts in the account only through short-lived sessions of `role_arn`.
    """

    account_id = models.CharField(max_length=12, unique=True)
    name = models.CharField(max_length=64, unique=True)
    role_arn = models.CharField(max_length=2048)
    external_id = models.CharField(max_length=1224, help_text="What the role's trust policy requires (sts:ExternalId).")
    regions = models.JSONField(default=list, help_text="Parent Regions of Wavelength Zones the panel may use here.")
    ssm_instance_profile = models.CharField(
        max_length=128,
        blank=True,
        help_text="An instance profile with SSM's core policy, attached to instances so checks can run on them.",
    )
    teams = models.ManyToManyField(Team, through="TeamAccount", related_name="aws_accounts")
    access_check = models.JSONField(default=dict, blank=True, help_text="The last access check's findings.")
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "AWS account"

    def __str__(self):
        return f"{self.name} ({self.account_id})"


class TeamAccount(models.Model):
    """A team may build in this account; a team's default account is used when a request names none."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="account_bindings")
    account = models.ForeignKey(AwsAccount, on_delete=models.CASCADE, related_name="bindings")
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["team_id", "-is_default", "account__name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "account"], name="one_binding_per_team_account"),
            models.UniqueConstraint(fields=["team"], condition=Q(is_default=True), name="one_default_account_per_team"),
        ]

    def __str__(self):
        return f"{self.team} → {self.account}"
