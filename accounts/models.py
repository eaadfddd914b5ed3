import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone

from .choices import GlobalRole, TeamRole


class User(AbstractUser):
    """A person. `is_superuser` is the global admin; `global_role` can make them an auditor."""

    global_role = models.CharField(max_length=16, choices=GlobalRole.choices, default=GlobalRole.NONE, blank=True)

    @property
    def is_auditor(self) -> bool:
        return self.global_role == GlobalRole.AUDITOR

    @property
    def is_admin(self) -> bool:
        return self.is_superuser


class Team(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    default_ttl_hours = models.PositiveIntegerField(default=72)
    max_ttl_hours = models.PositiveIntegerField(default=30 * 24, help_text="Longest lifetime an environment may have.")
    members = models.ManyToManyField(User, through="Membership", related_name="teams")

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.slug


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=TeamRole.choices, default=TeamRole.MEMBER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="one_membership_per_team")]

    def __str__(self):
        return f"{self.user} in {self.team} as {self.role}"


class ApiToken(models.Model):
    """A bearer token for /api/. Only its SHA-256 is stored; the token is shown once.

    Refused after `expires_at`, once revoked, or when its user is inactive; a password change or a
    deactivation revokes it (accounts.services).
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="First characters, to tell tokens apart.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.prefix}… ({self.user})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()
