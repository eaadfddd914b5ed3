"""Keyset pages for the API's lists: {"items": [...], "count": N, "next": cursor-or-null}, newest first.

A module of its own so that the apps' routers share it without importing the API root.
"""

import base64
import binascii

from django.core.exceptions import ValidationError as DjangoValidationError

DEFAULT_LIMIT, MAX_LIMIT = 50, 500


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(f"id:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        kind, _, value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition(":")
        if kind != "id":
            raise ValueError(kind)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise DjangoValidationError({"cursor": ["Not a cursor this API returned."]}) from exc


def keyset_page(queryset, *, limit: int | None, cursor: str | None, serialize) -> dict:
    """Newest first by id; `next` is an opaque cursor after the last item, or null at the end."""
    limit = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= limit <= MAX_LIMIT:
        raise DjangoValidationError({"limit": [f"Give a limit from 1 to {MAX_LIMIT}."]})
    count = queryset.count()
    if cursor:
        queryset = queryset.filter(id__lt=decode_cursor(cursor))
    rows = list(queryset.order_by("-id")[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [serialize(row) for row in rows],
        "count": count,
        "next": encode_cursor(rows[-1].id) if has_more else None,
    }
