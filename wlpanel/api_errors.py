"""The API's error bodies and the status codes each operation documents (docs/api.md).

A module of its own so that the apps' routers declare their answers without importing the API
root. Every operation answers 401 (no or a bad credential) and 503 (the database is down); the
rest are declared per operation, so the OpenAPI document names every status code a caller can get.
"""

from ninja import Schema

# What each error answer means, as the OpenAPI document describes it.
ERROR_DESCRIPTIONS = {
    400: "Bad input: `errors` names each field and what is wrong with it.",
    401: "No credential, or a bad, revoked or expired token.",
    403: "Not allowed to the caller (or, for a session, CSRF or an old login).",
    404: "No such object among those the caller may see.",
    409: "The object's state does not allow it.",
    410: "Gone: the environment is destroyed; nothing of it is left in AWS.",
    503: "A service the panel needs (the database) does not answer; try again.",
}


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]]


class PlanConflictOut(ErrorOut):
    """A 409 of an approval: the hash given and the hash of the request's plan now (when they differ)."""

    given_plan_hash: str | None = None
    plan_hash: str | None = None


def answers(success: dict, *errors: int, conflict: type[Schema] = ErrorOut) -> dict:
    """`response=` for a route: its success bodies, the given error codes, and 401 and 503."""
    codes = sorted({*errors, 401, 503})
    return {**success, **{code: conflict if code == 409 else ErrorOut for code in codes}}


def describe_errors(document: dict) -> dict:
    """The OpenAPI document with each error answer described by what it means for this API."""
    for methods in document.get("paths", {}).values():
        for operation in methods.values():
            for code, response in operation.get("responses", {}).items():
                if str(code).isdigit() and int(code) in ERROR_DESCRIPTIONS:
                    response["description"] = ERROR_DESCRIPTIONS[int(code)]
    return document
