from django.core.exceptions import PermissionDenied, ValidationError

__all__ = ["Conflict", "PermissionDenied", "PlanMismatch", "ValidationError"]


class Conflict(Exception):
    """The action does not fit the object's current state (HTTP 409)."""


class PlanMismatch(Conflict):
    """An approval names a plan hash other than the hash of the request's plan, recomputed now (409)."""

    def __init__(self, *, given: str, current: str):
        self.given, self.current = given, current
        super().__init__(
            f"The plan you were shown (hash {given}) is not the request's current plan (hash {current}); "
            "reload the request and review its plan again."
        )

    @property
    def errors(self) -> dict[str, list[str]]:
        return {"plan_hash": [f"Given {self.given}; the request's plan hashes to {self.current}."]}
