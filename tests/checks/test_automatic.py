"""The automatic run: once, on the transition to ready, only when the setting says so."""

import pytest
from django.utils import timezone

from checks.models import CheckRun
from tests.panel.conftest import make_environment, make_request  # noqa: F401

pytestmark = pytest.mark.django_db


def become_ready(environment):
    environment.state = "ready"
    environment.ready_at = timezone.now()
    environment.save()


def test_one_automatic_run_when_the_build_becomes_ready(make_environment, alice, settings):  # noqa: F811
    settings.WLPANEL_CHECKS_AUTOMATIC = True
    environment = make_environment(alice)
    assert not CheckRun.objects.exists()  # provisioning: nothing to probe yet
    become_ready(environment)
    (run,) = CheckRun.objects.all()
    assert run.automatic and run.state == "running" and run.requested_by is None
    assert run.plan_hash == environment.plan_hash and run.method == "lab"
    environment.expires_at = timezone.now() + timezone.timedelta(days=1)
    environment.save()  # a later save of a ready environment (an extension) is no new build
    assert CheckRun.objects.count() == 1


def test_switched_off(make_environment, alice, settings):  # noqa: F811
    settings.WLPANEL_CHECKS_AUTOMATIC = False
    environment = make_environment(alice)
    become_ready(environment)
    assert not CheckRun.objects.exists()


def test_the_openapi_document_has_the_checks_paths():
    from wlpanel.api import api

    paths = api.get_openapi_schema()["paths"]
    assert set(paths["/api/environments/{environment_id}/checks"]) == {"get", "post"}
