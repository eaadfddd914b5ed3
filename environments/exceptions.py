from django.core.exceptions import PermissionDenied, ValidationError

__all__ = ["Conflict", "PermissionDenied", "ValidationError"]


class Conflict(Exception):
    """The action does not fit the object's current state (HTTP 409)."""
