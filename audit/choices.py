from django.db import models


class Source(models.TextChoices):
    """Where an audited action came from."""

    WEB = "web", "Web"
    API = "api", "API"
    WORKER = "worker", "Worker"
    BEAT = "beat", "Beat"
    SHELL = "shell", "Shell"
