from django.db import models

# What the panel tells people about: audit action names (docs/api.md, "Webhooks"), plus `environment.expiring`.
EVENTS = {
    "request.created": "A request waits for approval",
    "request.approved": "A request was approved",
    "request.rejected": "A request was rejected",
    "environment.ready": "An environment is ready",
    "environment.failed": "A build failed",
    "environment.expiring": "An environment expires soon",
    "environment.extension_requested": "An extension beyond the team's maximum waits for approval",
    "environment.extension_decided": "An extension request was decided",
    "environment.destroyed": "An environment is destroyed",
    "environment.destroy_failed": "A teardown failed",
    "checks.contradicted": "Connectivity checks contradict the traffic matrix",
    "zone_group.opt_in_asked": "Someone asks to opt a zone group in",
    "zone_group.opted_in": "A zone group you asked for is opted in",
}
ALL_EVENTS = "*"
TEST_EVENT = "webhook.test"


class WebhookFormat(models.TextChoices):
    JSON = "json", "Generic JSON"
    SLACK = "slack", "Slack (incoming webhook)"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"

    @classmethod
    def badge(cls, state: str) -> str:
        return {cls.PENDING: "badge-info", cls.DELIVERED: "badge-success", cls.FAILED: "badge-danger"}.get(state, "")
