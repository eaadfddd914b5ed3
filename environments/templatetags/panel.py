"""Small presentation helpers for the panel's templates."""

import html
from datetime import UTC, timedelta

from django import template
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.utils import timezone
from django.utils.safestring import SafeString

from environments.choices import STATE_BADGES, EnvironmentState, RequestState, ResourceState
from environments.selectors import navigation_state

register = template.Library()


def format_html(format_string: str, *args) -> SafeString:
    """Django's format_html for the tags and rows built here, without its lazy-string checks on
    every argument and on the result (a tenth of the environments list went to them): each argument is escaped
    unless it is HTML already (`__html__`), with the same five entities as django.utils.html.escape."""
    return SafeString(format_string.format(*map(_escaped, args)))  # every argument escaped


def format_html_join(separator: str, format_string: str, args_generator) -> SafeString:
    return SafeString(html.escape(separator).join(format_html(format_string, *args) for args in args_generator))


def _escaped(value) -> str:
    return value.__html__() if hasattr(value, "__html__") else html.escape(str(value))

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


_RESOURCE_LABELS = dict(ResourceState.choices)


@register.simple_tag
def step_badge(state: str):
    colour = RESOURCE_BADGES.get(state, "muted")
    spinner = " spinning" if state in (ResourceState.CREATING, ResourceState.DELETING) else ""
    label = _RESOURCE_LABELS.get(state, state)
    return format_html('<span class="badge badge-{}{}">{}</span>', colour, spinner, label)


@register.simple_tag
def choice_select(field):
    """A ChoiceField's <select>, built here: Django's widget templates cost more than the whole table."""
    selected = str(field.value() or "")
    options = format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, " selected" if str(value) == selected else "", label) for value, label in field.field.choices),
    )
    return format_html('<select name="{}" id="{}">{}</select>', field.html_name, field.auto_id, options)


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
def utc(value, precision: str = "minutes") -> str:
    """A timestamp as UTC text (2026-11-25 17:01). Cheaper than |date, which parses its format each call."""
    if not value:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S" if precision == "seconds" else "%Y-%m-%d %H:%M")


@register.filter
def ago(value) -> str:
    """naturaltime without seconds, for what is re-rendered once a minute rather than every time."""
    if value:
        delta = timezone.now() - value
        if abs(delta) < timedelta(minutes=1):
            return "less than a minute ago" if delta >= timedelta(0) else "in less than a minute"
    return naturaltime(value)


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
    return not environment.is_terminal and within_a_day(environment.expires_at)


@register.filter
def within_a_day(moment) -> bool:
    """An expiry close enough to warn about (EXPIRY_WARNING)."""
    return moment is not None and moment - timezone.now() < EXPIRY_WARNING


@register.simple_tag
def navigation(user) -> dict:
    """The approval queue's size, team membership and approver role, for the navigation and the
    page's own actions (one query per request: the answer is kept on the user object)."""
    if not user.is_authenticated:
        return {"queue": 0, "member": False, "approver": False}
    state = getattr(user, "_navigation_state", None)
    if state is None:
        state = user._navigation_state = navigation_state(user)
    return state


OPT_IN_LABELS = {
    "opted-in": ("success", "opted in"),
    "not-opted-in": ("warning", "not opted in"),
    "opt-in-not-required": ("success", "no opt-in needed"),
    "opt-in-requested": ("info", "opt-in requested"),
}


@register.simple_tag
def opt_in_badge(zone):
    """A zone's opt-in status in words (AWS's `not-opted-in` reads as "not opted in")."""
    status = "opted-in" if zone.opted_in else zone.opt_in_status
    colour, label = OPT_IN_LABELS.get(status, ("warning", status.replace("-", " ")))
    return format_html('<span class="badge badge-{}" data-opt-in="{}">{}</span>', colour, status, label)


@register.simple_tag
def sort_header(label: str, key: str, current: str, filter_query: str = ""):
    """A column header that sorts by `key` (again: the other way), keeping the filters."""
    ascending = current != key
    target = key if ascending else f"-{key}"
    arrow = "▲" if current == key else "▼" if current == f"-{key}" else ""
    query = f"{filter_query}&sort={target}" if filter_query else f"sort={target}"
    aria = "ascending" if current == key else "descending" if current == f"-{key}" else "none"
    return format_html(
        '<th aria-sort="{}"><a class="sort" href="?{}" data-sort="{}">{}{}</a></th>',
        aria, query, key, label, format_html(' <span class="arrow">{}</span>', arrow) if arrow else "",
    )  # fmt: skip


# The AWS console's page for each kind of id (region-aware); the sandbox has its own inventory.
_CONSOLE = {
    "vpc-": "vpcconsole/home?region={r}#VpcDetails:VpcId={i}",
    "subnet-": "vpcconsole/home?region={r}#SubnetDetails:subnetId={i}",
    "igw-": "vpcconsole/home?region={r}#InternetGateway:internetGatewayId={i}",
    "cagw-": "vpcconsole/home?region={r}#CarrierGateways:carrierGatewayId={i}",
    "rtb-": "vpcconsole/home?region={r}#RouteTableDetails:RouteTableId={i}",
    "sg-": "ec2/home?region={r}#SecurityGroup:groupId={i}",
    "i-": "ec2/home?region={r}#InstanceDetails:instanceId={i}",
    "eipalloc-": "ec2/home?region={r}#ElasticIpDetails:AllocationId={i}",
    "ami-": "ec2/home?region={r}#ImageDetails:imageId={i}",
}


def console_url(aws_id: str, region: str, environment_id=None) -> str:
    """Where a person looks at `aws_id`: the AWS console of its region, or on the sandbox its
    inventory of the environment's resources; "" when the id's kind is unknown."""
    from django.conf import settings

    endpoint = settings.WLPANEL_AWS_ENDPOINT
    if endpoint and endpoint != "aws":
        if environment_id is None:
            return ""
        return f"{endpoint.rstrip('/')}/_sandbox/inventory?tag=wlpanel:environment={environment_id}"
    for prefix, path in _CONSOLE.items():
        if aws_id.startswith(prefix):
            return f"https://{region}.console.aws.amazon.com/" + path.format(r=region, i=aws_id)
    return ""


@register.simple_tag
def aws_id(value: str, region: str = "", environment_id=None):
    """An AWS id: linked to where it can be looked at (AWS console or the sandbox's inventory), with
    a copy button."""
    if not value:
        return format_html('<span class="muted">{}</span>', "—")
    url = console_url(value, region, environment_id)
    shown = (
        format_html('<a class="mono" href="{}" target="_blank" rel="noopener" title="Open in the {}">{}</a>', url,
                    "AWS console" if url.startswith("https://") else "sandbox's inventory", value)
        if url
        else format_html('<span class="mono">{}</span>', value)
    )  # fmt: skip
    return format_html('<span class="aws-id">{} {}</span>', shown, copy_button(value))


@register.simple_tag
def copy_button(value: str, label: str = "Copy"):
    return format_html(
        '<button type="button" class="copy small" data-copy="{}" aria-label="Copy {}">{}</button>', value, value, label
    )


# --- Rows of long tables, built here --------------------------------------------------------------
# A row of the environments list or of the steps table through the template engine cost more than
# the page's queries (each variable and filter is resolved anew per row); these build the same HTML.


@register.simple_tag
def environment_rows(rows, list_url: str):
    """The environments list's <tr>s from `queries.environment_rows` (plain dicts)."""
    return format_html_join("\n", "{}", ((_environment_row(row, list_url),) for row in rows))


def _environment_row(env: dict, list_url: str):
    destroyed = env["state"] == EnvironmentState.DESTROYED
    carrier_ip = (
        env["carrier_ip"] if env["carrier_ip"] and not destroyed else format_html('<span class="muted">{}</span>', "—")
    )
    if destroyed:
        expires = format_html('<span class="muted">{}</span>', "—")
    else:
        soon = format_html(' <span class="badge badge-warning">{}</span>', "soon") if within_a_day(env["expires_at"]) else ""
        expires = format_html('<span title="{} UTC">{}</span>{}', utc(env["expires_at"]), ago(env["expires_at"]), soon)
    return format_html(
        "<tr>"
        '<td><a href="{}{}/">{}</a></td>'
        "<td>{}</td>"
        "<td>{}</td>"
        '<td class="mono">{}<div class="muted small-text">{} · {}</div></td>'
        '<td class="mono">{}</td>'
        '<td class="mono" data-testid="carrier-ip">{}</td>'
        "<td>{}</td>"
        '<td title="{} UTC">{}</td>'
        "<td>{}</td>"
        "</tr>",
        list_url, env["id"], env["name"],
        env["team_slug"],
        state_badge(env["state"]),
        env["zone_name"], env["zone_carrier"], env["zone_metro"],
        env["instance_type"],
        carrier_ip,
        env["owner_username"],
        utc(env["created_at"]), ago(env["created_at"]),
        expires,
    )  # fmt: skip


@register.simple_tag
def step_rows(steps, environment):
    """The steps table's rows (`presenters.environment_steps`), with each error's row beneath its step."""
    return format_html_join("\n", "{}", ((_step_row(step, environment),) for step in steps))


def _step_row(step, environment):
    resource = step.resource
    drift = (
        format_html(' <span class="badge badge-warning">{}</span>', resource.get_drift_display()) if resource.drift else ""
    )
    calls = format_html_join("", '<code class="call">{}</code>', ((call,) for call in step.calls))
    row = format_html(
        '<tr class="step step-{}">'
        '<td><strong>{}</strong><div class="muted mono small-text">{}</div></td>'
        "<td>{}{}</td>"
        "<td>{}</td>"
        '<td class="nowrap">{}</td>'
        "<td>{}</td>"
        "</tr>",
        resource.state,
        step.title, step.key,
        step_badge(resource.state), drift,
        calls,
        aws_id(resource.aws_id, environment.region, environment.pk),
        duration(step.duration),
    )  # fmt: skip
    if not resource.last_error:
        return row
    code = format_html("<code>{}</code> ", resource.last_error_code) if resource.last_error_code else ""
    tried = format_html(' <span class="muted small-text">· tried {} times</span>', resource.attempts) if resource.attempts > 1 else ""
    next_attempt = (
        format_html(' <span class="muted small-text">· next attempt {}</span>', ago(resource.next_attempt_at))
        if resource.next_attempt_at
        else ""
    )
    error = format_html(
        '<tr class="step-error"><td></td><td colspan="4"><span class="error">{}{}</span>{}{}</td></tr>',
        code, resource.last_error, tried, next_attempt,
    )  # fmt: skip
    return format_html("{}\n{}", row, error)


@register.simple_tag
def timeline_rows(events, event_list_url: str):
    """The audit trail's <li>s (`audit.selectors.environment_timeline`), each with its AWS calls in a line."""
    return format_html_join("\n", "{}", ((_timeline_row(event, event_list_url),) for event in events))


PROBLEMS_SHOWN = 5


def _timeline_row(event, event_list_url: str):
    summary = event.aws_summary
    calls = ""
    if summary["count"]:
        problems = summary["problems"]
        badges = format_html_join(" ", '<span class="badge badge-danger">{}</span>', ((p,) for p in problems[:PROBLEMS_SHOWN]))
        more = format_html(' <span class="muted">+{} more</span>', len(problems) - PROBLEMS_SHOWN) if len(problems) > PROBLEMS_SHOWN else ""
        calls = format_html(
            '<p style="margin:2px 0 0;font-size:13px" class="muted" data-testid="aws-calls-summary">'
            '<a href="{}{}/">{} AWS call{}</a>: <code>{}</code> · {} ms {}{}</p>',
            event_list_url, event.pk, summary["count"], "" if summary["count"] == 1 else "s",
            summary["operations"], summary["duration_ms"], badges, more,
        )  # fmt: skip
    return format_html(
        '<li style="padding:4px 0 10px"><a href="{}{}/" class="mono">{}</a> '
        '<span class="muted">· {} · {} UTC</span>{}</li>',
        event_list_url, event.pk, event.action,
        event.actor_username or "system", utc(event.created_at, "seconds"),
        calls,
    )  # fmt: skip
