from django.db import models


class RunState(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class Method(models.TextChoices):
    LAB = "lab", "Sandbox lab"
    AWS = "aws", "AWS (SSM Run Command)"


class CellVerdict(models.TextChoices):
    VERIFIED = "verified", "Verified"
    CONTRADICTED = "contradicted", "Contradicted"
    NOT_VERIFIABLE = "not_verifiable", "Not verifiable"


VERDICT_BADGES = {
    CellVerdict.VERIFIED: "success",
    CellVerdict.CONTRADICTED: "danger",
    CellVerdict.NOT_VERIFIABLE: "muted",
}
