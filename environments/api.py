"""/api/ endpoints for teams, zones, requests and environments (filled in by the panel work)."""

from ninja import Router

router = Router(tags=["environments"])
