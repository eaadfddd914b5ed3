"""The network view stored: what the detail page shows from the described network (traffic matrix,
topology SVG, security tables), computed when a description lands — by the worker, after a build
step or a refresh wrote what AWS said — so that a page read does not compute it.

Each stored view carries the version (`presenters.description_version`) of the descriptions it
was computed from. A page whose resources digest to another version (a description landed
without a view stored, or rows older than this table) computes it once, stores it and shows it:
never a stale view. `WLPANEL_NETWORK_VIEW_ON_READ` computes it on every read instead and stores
nothing, the way pages worked before (the benchmark's baseline).
"""

import logging

from django.conf import settings

from . import presenters
from .models import Environment, NetworkView, Resource

log = logging.getLogger(__name__)


def _as_page(view: dict, version: str) -> dict:
    """{"traffic": the dict templates and the API read, "security": the tables} of a view."""
    return {
        "traffic": {
            **view["traffic"],
            "svg": view["svg"],
            "described_at": view["described_at"],
            "fingerprint": version,
        },
        "security": view["security"],
    }


def _store(environment: Environment, version: str, view: dict) -> None:
    NetworkView.objects.update_or_create(
        environment=environment,
        defaults={
            "version": version,
            "traffic": view["traffic"],
            "svg": view["svg"],
            "security": view["security"],
            "described_at": view["described_at"],
        },
    )


def network_view_update(*, environment_id: int) -> str | None:
    """Compute and store the environment's view from its resources as described now; its version.

    Called where descriptions land (the engine's step outcomes, the refresh). Never fails its
    caller: a view not stored is computed by the next page that needs it.
    """
    try:
        environment = Environment.objects.select_related("zone").get(pk=environment_id)
        resources = list(Resource.objects.filter(environment=environment).order_by("id"))
        version = presenters.description_version(environment, resources)
        _store(environment, version, presenters.network_view(environment, resources))
        return version
    except Exception:
        log.exception("the network view of environment %s was not stored", environment_id)
        return None


def network_view_get(environment: Environment, resources: list[Resource]) -> dict:
    """{"traffic", "security"} for a page, from the stored view of the resources' version; computed
    and stored when that is missing or of another version. `resources` as the page loaded them
    (all of the environment's, by id)."""
    version = presenters.description_version(environment, resources)
    if settings.WLPANEL_NETWORK_VIEW_ON_READ:
        page = _as_page(presenters.network_view(environment, resources), version)
    else:
        stored = NetworkView.objects.filter(environment=environment, version=version).first()
        if stored is not None:
            view = {"traffic": stored.traffic, "svg": stored.svg, "security": stored.security, "described_at": stored.described_at}
        else:
            view = presenters.network_view(environment, resources)
            _store(environment, version, view)
        page = _as_page(view, version)
    if presenters.is_history(environment):
        # Destroyed or being destroyed: no live matrix, only what it was (the security tables).
        page["traffic"] = presenters.HISTORY_TRAFFIC
    return page
