"""No input gives a 5xx (docs/api.md): the webhook and extension-request endpoints, fuzzed from
their OpenAPI document with schemathesis, through Django's test client on the test database."""

import json

import schemathesis
from django.test import Client
from hypothesis import HealthCheck, given, settings

from accounts.services import api_token_issue
from notify.models import WebhookEndpoint


def test_webhook_and_extension_endpoints_never_answer_5xx(bob, alice, team, make_environment):
    from wlpanel.api import api

    make_environment(alice, name="edge-fuzz")
    WebhookEndpoint.objects.create(team=team, url="http://127.0.0.1:9/hook", events=["*"], secret="x" * 20)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api_token_issue(user=bob)}"}
    schema = schemathesis.openapi.from_dict(api.get_openapi_schema()).include(path_regex="webhooks|extension")
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 9

    for operation in operations:

        @given(operation.as_strategy())
        @settings(max_examples=40, suppress_health_check=list(HealthCheck), deadline=None, database=None)
        def call(case):
            client = Client()
            if case.method.upper() == "GET":
                response = client.get(case.formatted_path, case.query or {}, **headers)
            else:
                body = "" if isinstance(case.body, schemathesis.core.NotSet) else json.dumps(case.body)
                response = client.post(case.formatted_path, body, content_type="application/json", **headers)
            if response.status_code >= 500:
                failures.append((case.method, case.formatted_path, case.query, case.body, response.status_code))

        call()
    assert failures == []
