"""The auditor reads everything and changes nothing (DESIGN section 5; issue 14, finding 6).

Every route of the URL resolver, pages and API alike (the API's routes are ninja's, mounted in the
resolver), is sent POST, PUT, PATCH and DELETE as the auditor, with bodies that a permitted user's
request would carry, against objects in states where the action is possible. Each answer must be a
refusal (403, or 405 for a method the route does not take; the Django admin sends a non-staff
person to its login), and no row of any table may change.
"""

import re

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.services import api_token_issue
from environments.models import Environment
from notify.models import Notification

pytestmark = pytest.mark.django_db

METHODS = ("post", "put", "patch", "delete")
# The person's own session, inbox and credentials, not the panel's data: logging in (with a password
# or single sign-on) and out, confirming one's password, marking one's own notifications read,
# revoking one's own API token. Each is tested where it lives.
OWN_SESSION = {
    "login/", "logout/", "reauth/", "sso/login/", "sso/callback/", "admin/login/", "admin/logout/",
    "notifications/read/", "notifications/<int:notification_id>/read/", "account/tokens/<int:pk>/revoke",
}
# Tables an auditor's visit may touch without changing the panel's data: their session, the
# lockout counters, the token's last-used stamp.
UNWATCHED = {"sessions.session", "axes.accessattempt", "axes.accesslog", "axes.accessfailurelog"}
UNWATCHED_FIELDS = {"accounts.apitoken": {"last_used_at"}}


def _routes(resolver=None, prefix=""):
    """Every URL pattern of the project, as its full route text."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield route


def _url(route: str, values: dict) -> str:
    """A concrete path for a route: converters (<int:x>, <x>) and admin's regex groups filled in."""
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values.get(m.group(1), "1")), route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values.get(m.group(1), "1")), route)
    return "/" + route.replace("\\Z", "").replace("\\", "").replace("^", "").replace("$", "")


def _snapshot() -> dict:
    rows = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in UNWATCHED:
            continue
        skip = UNWATCHED_FIELDS.get(label, set())
        rows[label] = [
            {key: value for key, value in row.items() if key not in skip} for row in model.objects.order_by("pk").values()
        ]
    return rows


@pytest.fixture
def world(alice, bob, carol, make_request, make_environment, zone):
    """A pending request, a failed environment, an unopted zone group: every action is open to someone."""
    pending = make_request(alice, name="pending-one")
    environment = make_environment(alice, name="failed-one")
    Environment.objects.filter(pk=environment.pk).update(state="failed")
    notification = Notification.objects.create(user=bob, verb="request.waiting", message="for bob", link="/")
    zone.__class__.objects.filter(pk=zone.pk).update(opt_in_status="not-opted-in")
    return {
        "request_id": pending.pk,
        "environment_id": environment.pk,
        "group": zone.group_name,
        "notification_id": notification.pk,
        "pk": 1,
        "object_id": alice.pk,
        "app_label": "accounts",
        "model_name": "user",
        "plan_hash": pending.plan_hash,
        "environment_name": environment.name,
    }


def _bodies(world: dict) -> dict:
    """What a permitted user would send: the approver's approval, the owner's destroy, and so on."""
    return {
        "approve": {"plan_hash": world["plan_hash"], "comment": "auditor"},
        "reject": {"comment": "auditor"},
        "cancel": {"comment": "auditor"},
        "destroy": {"confirm_name": world["environment_name"], "reason": "auditor"},
        "extend": {"hours": 1},
        "requests": {"name": "by-carol", "team": "demo", "zone": "us-west-2-wl1-sfo-wlz-1", "instance_type": "t3.medium"},
        "new": {
            "name": "by-carol", "team": "demo", "zone": "us-west-2-wl1-sfo-wlz-1", "instance_type": "t3.medium",
            "bastion": "yes", "vpc_cidr": "10.0.0.0/16", "public_subnet_cidr": "10.0.1.0/24",
            "wavelength_subnet_cidr": "10.0.0.0/24", "ingress_mode": "all", "ttl_hours": "24",
        },
    }


def test_the_auditor_is_refused_every_write_and_nothing_changes(carol, world):
    session = Client()
    session.force_login(carol)  # a fresh login: the password need not be confirmed again
    token = api_token_issue(user=carol)
    bodies = _bodies(world)
    before = _snapshot()
    routes = sorted(set(_routes()))
    tried = []
    for route in routes:
        if route in OWN_SESSION:
            continue
        url = _url(route, world)
        last = url.rstrip("/").rsplit("/", 1)[-1]
        body = bodies.get(last, {})
        if "preview" in url or url.endswith("/new/"):
            body = bodies["new"]
        for method in METHODS:
            if url.startswith("/api/"):
                response = getattr(session, method)(
                    url, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
                )
            elif method == "post":
                response = session.post(url, body)
            else:
                response = getattr(session, method)(url)
            tried.append((method, url, response.status_code))
            if route == "api/":  # ninja's index, which has no view with the docs off: 404 to every method
                refused = response.status_code == 404
            elif url.startswith("/admin/"):
                refused = response.status_code in (403, 405) or (
                    response.status_code == 302 and response["Location"].startswith("/admin/login/")
                )
            else:
                refused = response.status_code in (403, 405)
            assert refused, (method, url, response.status_code, response.content[:300])
        assert _snapshot() == before, (url, "changed something")
    # The walk covered the writes an auditor might try: the pages' and the API's.
    posted = {url for method, url, status in tried if method == "post" and status == 403}
    for expected in (
        f"/requests/{world['request_id']}/approve/",
        f"/requests/{world['request_id']}/reject/",
        f"/requests/{world['request_id']}/cancel/",
        f"/environments/{world['environment_id']}/destroy/",
        f"/environments/{world['environment_id']}/extend/",
        f"/environments/{world['environment_id']}/retry/",
        f"/environments/{world['environment_id']}/refresh/",
        f"/zones/{world['group']}/opt-in/",
        f"/zones/{world['group']}/opt-in/ask/",
        "/requests/new/",
        "/requests/new/preview/",
        "/api/requests",
        f"/api/requests/{world['request_id']}/approve",
        f"/api/environments/{world['environment_id']}/destroy",
        f"/api/environments/{world['environment_id']}/extend",
        f"/api/zone-groups/{world['group']}/opt-in",
    ):
        assert expected in posted, (expected, sorted(posted))
    assert len(tried) >= 4 * 40


def test_the_opt_in_ask_is_for_those_who_may_request(client, alice, carol, zone, admin_user):
    from audit.models import AuditEvent

    client.force_login(carol)
    assert client.post(f"/zones/{zone.group_name}/opt-in/ask/").status_code == 403
    assert not Notification.objects.exists() and not AuditEvent.objects.filter(action="zone_group.opt_in_asked").exists()
    client.force_login(alice)
    assert client.post(f"/zones/{zone.group_name}/opt-in/ask/").status_code == 302
    assert Notification.objects.get(verb="zone_group.opt_in_asked").user == admin_user
