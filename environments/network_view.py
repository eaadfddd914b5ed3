"""The network view stored: what the detail page shows from the described network (traffic matrix,
topology SVG, security tables, and those parts rendered), computed when a description lands — by
the worker, after a build step or a refresh wrote what AWS said — so that a page read does not.

Each stored view carries the version (`view_version`) of the descriptions it was computed from
and of the templates that rendered it. A page whose resources digest to another version (a
description landed without a view stored, rows older than this table, a deploy that changed the
templates) computes it once, stores it and shows it: never a stale view.
`WLPANEL_NETWORK_VIEW_ON_READ` computes it on every read instead and stores nothing, the way pages
worked before (the benchmark's baseline).
"""

import functools
import hashlib
import logging

from django.conf import settings
from django.template.loader import get_template, render_to_string

from . import presenters
from .models import Environment, NetworkView, Resource

log = logging.getLogger(__name__)

MATRIX_TEMPLATE = "environments/_traffic_matrix.html"
SECURITY_TEMPLATE = "environments/_security.html"


@functools.cache
def _render_revision() -> str:
    """The templates' source and the AWS endpoint their links point at, as this process has them."""
    sources = [get_template(name).template.source for name in (MATRIX_TEMPLATE, SECURITY_TEMPLATE)]
    return repr((sources, settings.WLPANEL_AWS_ENDPOINT))


def view_version(environment: Environment, resources: list[Resource]) -> str:
    digest = presenters.description_version(environment, resources) + _render_revision()
    return hashlib.sha256(digest.encode()).hexdigest()


def _compute(environment: Environment, resources: list[Resource]) -> dict:
    view = presenters.network_view(environment, resources)
    traffic = {**view["traffic"], "svg": view["svg"]}
    view["matrix_html"] = render_to_string(MATRIX_TEMPLATE, {"traffic": traffic})
    view["security_html"] = render_to_string(
        SECURITY_TEMPLATE, {"security_tables": view["security"], "environment": environment}
    )
    return view


def _as_page(view: dict, version: str) -> dict:
    """{"traffic": the dict templates and the API read, "security_html"} of a view."""
    return {
        "traffic": {
            **view["traffic"],
            "svg": view["svg"],
            "described_at": view["described_at"],
            "fingerprint": version,
            "matrix_html": view["matrix_html"],
        },
        "security_html": view["security_html"],
    }


def _store(environment: Environment, version: str, view: dict) -> None:
    NetworkView.objects.update_or_create(
        environment=environment,
        defaults={
            "version": version,
            **{
                field: view[field]
                for field in ("traffic", "svg", "security", "matrix_html", "security_html", "described_at")
            },
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
        version = view_version(environment, resources)
        _store(environment, version, _compute(environment, resources))
        return version
    except Exception:
        log.exception("the network view of environment %s was not stored", environment_id)
        return None


def _stored(environment: Environment, version: str, *, items: bool) -> NetworkView | None:
    """The stored view of `version`: the one read with the environment when it was (the page's
    parts only), else from the table."""
    if not items and Environment.network_view.is_cached(environment):
        stored = getattr(environment, "network_view", None)
        return stored if stored is not None and stored.version == version else None
    fields = ("matrix_html", "security_html", "described_at", *(("traffic", "svg") if items else ()))
    return NetworkView.objects.filter(environment=environment, version=version).only(*fields).first()


def network_view_get(environment: Environment, resources: list[Resource], *, items: bool = False) -> dict:
    """{"traffic", "security_html"} for a page, from the stored view of the resources' version;
    computed and stored when that is missing or of another version. `resources` as the page
    loaded them (all of the environment's, by id). `items`: with the matrix as data (the API), not
    only rendered (a page: its JSON is the larger part of the row)."""
    version = view_version(environment, resources)
    if settings.WLPANEL_NETWORK_VIEW_ON_READ:
        page = _as_page(_compute(environment, resources), version)
    else:
        stored = _stored(environment, version, items=items)
        if stored is not None:
            view = {
                "traffic": stored.traffic if items else {},
                "svg": stored.svg if items else "",
                "matrix_html": stored.matrix_html,
                "security_html": stored.security_html,
                "described_at": stored.described_at,
            }
        else:
            view = _compute(environment, resources)
            _store(environment, version, view)
        page = _as_page(view, version)
    if presenters.is_history(environment):
        # Destroyed or being destroyed: no live matrix, only what it was (the security tables).
        page["traffic"] = presenters.HISTORY_TRAFFIC
    return page
