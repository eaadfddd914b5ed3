"""/api/audit/ endpoints (filled in by the audit review work)."""

from ninja import Router

router = Router(tags=["audit"])
