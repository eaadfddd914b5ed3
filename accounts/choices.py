from django.db import models


class TeamRole(models.TextChoices):
    MEMBER = "member", "Member"
    APPROVER = "approver", "Approver"


class GlobalRole(models.TextChoices):
    """Roles that are not tied to a team. `admin` is Django's superuser flag."""

    NONE = "", "None"
    AUDITOR = "auditor", "Auditor"
