"""Who acts, from where, under which correlation id: handed explicitly to services and workers."""

import uuid
from dataclasses import dataclass, field
from typing import Any

from .choices import Source
from .client_ip import client_ip
from .services import record


@dataclass(frozen=True)
class Origin:
    user: Any | None  # None: the system (beat, reconciler)
    source: str
    ip_address: str | None = None
    user_agent: str = ""
    correlation_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    client_request_id: str = ""  # the client's X-Request-ID: recorded, never joined on

    @classmethod
    def from_request(cls, request, source: str = Source.WEB) -> "Origin":
        return cls(
            user=request.user if request.user.is_authenticated else None,
            source=source,
            ip_address=client_ip(request),
            user_agent=request.headers.get("User-Agent", "")[:300],
            correlation_id=getattr(request, "correlation_id", "") or uuid.uuid4().hex,
            client_request_id=getattr(request, "client_request_id", ""),
        )

    @classmethod
    def system(cls, source: str = Source.BEAT, correlation_id: str | None = None) -> "Origin":
        return cls(user=None, source=source, correlation_id=correlation_id or uuid.uuid4().hex)

    def record(self, *, action: str, target, **fields: Any):
        """`audit.services.record` with this origin's actor, source and request details."""
        fields.setdefault("correlation_id", self.correlation_id)
        if self.client_request_id:
            fields["details"] = {**(fields.get("details") or {}), "client_request_id": self.client_request_id}
        return record(
            actor=self.user,
            action=action,
            target=target,
            source=self.source,
            ip_address=self.ip_address,
            user_agent=self.user_agent,
            **fields,
        )
