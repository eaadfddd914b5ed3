"""States, their transitions and their UI, in one place (NetBox-style choice classes)."""

from django.db import models


class RequestState(models.TextChoices):
    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"  # the policy's approval window passed while pending



class EnvironmentState(models.TextChoices):
    PROVISIONING = "provisioning", "Provisioning"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    DESTROYING = "destroying", "Destroying"
    DESTROYED = "destroyed", "Destroyed"
    DESTROY_FAILED = "destroy_failed", "Destroy failed"


ENVIRONMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    EnvironmentState.PROVISIONING: frozenset({EnvironmentState.READY, EnvironmentState.FAILED, EnvironmentState.DESTROYING}),
    EnvironmentState.READY: frozenset({EnvironmentState.DESTROYING}),
    EnvironmentState.FAILED: frozenset({EnvironmentState.PROVISIONING, EnvironmentState.DESTROYING}),
    EnvironmentState.DESTROYING: frozenset({EnvironmentState.DESTROYED, EnvironmentState.DESTROY_FAILED}),
    EnvironmentState.DESTROY_FAILED: frozenset({EnvironmentState.DESTROYING}),
    EnvironmentState.DESTROYED: frozenset(),
}
ENVIRONMENT_TERMINAL_STATES = frozenset({EnvironmentState.DESTROYED})
# States in which the engine has work to do (the reconciler re-drives these).
ENVIRONMENT_ACTIVE_STATES = frozenset({EnvironmentState.PROVISIONING, EnvironmentState.DESTROYING})
# States whose live page keeps polling.
ENVIRONMENT_POLLING_STATES = ENVIRONMENT_ACTIVE_STATES

STATE_BADGES = {
    RequestState.PENDING: "warning",
    RequestState.APPROVED: "success",
    RequestState.REJECTED: "danger",
    RequestState.CANCELLED: "muted",
    RequestState.EXPIRED: "muted",
    EnvironmentState.PROVISIONING: "info",
    EnvironmentState.READY: "success",
    EnvironmentState.FAILED: "danger",
    EnvironmentState.DESTROYING: "info",
    EnvironmentState.DESTROYED: "muted",
    EnvironmentState.DESTROY_FAILED: "danger",
}


class ResourceState(models.TextChoices):
    """The state of one resource step of the plan (build forwards, teardown backwards)."""

    PENDING = "pending", "Pending"  # not started
    CREATING = "creating", "Creating"  # create issued or waiting for AWS (e.g. instance pending)
    READY = "ready", "Ready"  # exists and usable
    FAILED = "failed", "Failed"
    DELETING = "deleting", "Deleting"
    DELETED = "deleted", "Deleted"  # gone, or never created



class ResourceKind(models.TextChoices):
    VPC = "vpc", "VPC"
    SUBNET = "subnet", "Subnet"
    INTERNET_GATEWAY = "internet_gateway", "Internet gateway"
    CARRIER_GATEWAY = "carrier_gateway", "Carrier gateway"
    ROUTE_TABLE = "route_table", "Route table"
    SECURITY_GROUP = "security_group", "Security group"
    INSTANCE = "instance", "Instance"
    CARRIER_IP = "carrier_ip", "Carrier IP"


class Drift(models.TextChoices):
    NONE = "", "In sync"
    MISSING = "missing", "Missing in AWS"
    CHANGED = "changed", "Changed in AWS"
