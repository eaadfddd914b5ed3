"""Small presentation helpers for the panel's templates."""

from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.html import format_html

from environments.choices import STATE_BADGES, EnvironmentState, RequestState, ResourceState
from environments.selectors import approval_queue

register = template.Library()

_LABELS = {**dict(RequestState.choices), **dict(EnvironmentState.choices)}
RESOURCE_BADGES = {
    ResourceState.PENDING: "muted",
    ResourceState.CREATING: "info",
    ResourceState.READY: "success",
    ResourceState.FAILED: "danger",
    ResourceState.DELETING: "info",
    ResourceState.DELETED: "muted",
}


@register.simple_tag
def state_badge(state: str):
    """A request's or environment's state as a coloured badge (colours from choices.STATE_BADGES)."""
    colour = STATE_BADGES.get(state, "muted")
    return format_html(
        '<span class="badge badge-{} state-{}" data-state="{}">{}</span>', colour, state, state, _LABELS.get(state, state)
    )


@register.simple_tag
def step_badge(state: str):
    colour = RESOURCE_BADGES.get(state, "muted")
    spinner = " spinning" if state in (ResourceState.CREATING, ResourceState.DELETING) else ""
    label = dict(ResourceState.choices).get(state, state)
    return format_html('<span class="badge badge-{}{}">{}</span>', colour, spinner, label)


@register.filter
def duration(value: timedelta | None) -> str:
    """1h 02m, 3m 05s, 12.4s, or an empty string."""
    if value is None:
        return ""
    seconds = value.total_seconds()
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


@register.filter
def short_hash(value: str, length: int = 12) -> str:
    return (value or "")[:length]


@register.filter
def ports_text(ports) -> str:
    if ports is None:
        return "all"
    return ", ".join(ports) if isinstance(ports, (list, tuple)) else str(ports)


@register.filter
def endpoint(name: str) -> str:
    """Traffic-matrix endpoint ids as people read them."""
    return {
        "region-subnet": "Region subnet (same VPC)",
        "wavelength-instance": "Wavelength instance",
        "carrier-metro": "Carrier network (same metro & carrier)",
        "carrier-other": "Carrier network (other metro / carrier)",
        "internet": "Internet",
        "other-wavelength-zone": "Other Wavelength Zone",
    }.get(name, name)


EXPIRY_WARNING = timedelta(hours=24)


@register.filter
def expires_soon(environment) -> bool:
    """A live environment that expires (and is destroyed) within a day."""
    return not environment.is_terminal and environment.expires_at - timezone.now() < EXPIRY_WARNING


@register.simple_tag
def approval_queue_count(user) -> int:
    """Pending requests the user could decide (one query; shown in the navigation)."""
    return approval_queue(user).count() if user.is_authenticated else 0
