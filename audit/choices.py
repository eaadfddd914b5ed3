from django.db import models


class Source(models.TextChoices):
    """Where an audited action came from."""

    WEB = "web", "Web"
    API = "api", "API"
    WORKER = "worker", "Worker"
    BEAT = "beat", "Beat"
    SHELL = "shell", "Shell"


class ChainScheme(models.IntegerChoices):
    """How a row's hash was made; a chain only ever moves up this list."""

    UNCHAINED = 0, "Not chained (AWS calls logged before the call log was chained)"
    SHA256 = 1, "SHA-256 of the previous hash and the content (before the chain was keyed)"
    HMAC_SHA256 = 2, "HMAC-SHA256 with WLPANEL_AUDIT_KEY"
