"""Sandbox state kept on each moto EC2 backend (one per account and region).

Living on the backend object means moto's own reset (which rebuilds every backend) clears it
together with the resources it describes.
"""

from dataclasses import dataclass, field
from typing import Any

_ATTRIBUTE = "_wlpanel_sandbox"


@dataclass
class RememberedCall:
    """A call made with a ClientToken: what it asked for and what it answered."""

    fingerprint: str
    result: Any


@dataclass
class BackendExtras:
    # zone group -> time.monotonic() at which the opt-in takes effect
    opted_in_groups: dict[str, float] = field(default_factory=dict)
    client_tokens: dict[tuple[str, str], RememberedCall] = field(default_factory=dict)


def extras(backend: Any) -> BackendExtras:
    """The sandbox state of one EC2 backend, created on first use."""
    found = backend.__dict__.get(_ATTRIBUTE)
    if found is None:
        found = backend.__dict__.setdefault(_ATTRIBUTE, BackendExtras())
    return found
