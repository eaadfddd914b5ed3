"""Error pages in the layout (templates/403|404|500.html, wlpanel.views.permission_denied) and the
logging of expected denials (wlpanel.logging.ExpectedDenials): one line with the reason."""

import html
import logging

import pytest

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_approving_your_own_request_shows_the_reason_in_the_layout_and_logs_one_line(
    client, bob, make_request, caplog
):
    own = make_request(bob, name="bob-own")
    client.force_login(bob)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.post(
            f"/requests/{own.pk}/approve/", {"plan_hash": own.plan_hash}, HTTP_REFERER=f"http://testserver/requests/{own.pk}/"
        )
    assert response.status_code == 403
    page = text(response)
    assert "You cannot approve your own request: another approver of demo must." in page
    assert 'data-testid="who">bob<' in page  # the layout, with the navigation and who is logged in
    assert "What you can do" in page and f'href="http://testserver/requests/{own.pk}/"' in page
    denials = [r for r in caplog.records if r.name == "django.request"]
    assert len(denials) == 1
    line = denials[0]
    assert line.exc_info is None and line.exc_text is None
    assert line.getMessage() == (
        f"Forbidden (Permission denied): /requests/{own.pk}/approve/ "
        "(You cannot approve your own request: another approver of demo must.)"
    )


def test_a_plain_member_meets_a_403_with_its_reason(client, alice, make_environment, erin):
    environment = make_environment(erin, approver=None)  # erin's, approved by bob: alice may not destroy it
    client.force_login(alice)
    response = client.get(f"/environments/{environment.pk}/destroy/")
    assert response.status_code == 403
    assert "You may not destroy this environment." in text(response)


def test_outside_your_teams_is_a_404_in_the_layout(client, mallory, make_environment, alice):
    environment = make_environment(alice)
    client.force_login(mallory)
    response = client.get(f"/environments/{environment.pk}/")
    assert response.status_code == 404
    page = text(response)
    assert "No such environment." in page and 'data-testid="who">mallory<' in page
    assert "ask an admin to add you to their team" in page
    assert "There is no page here" in text(client.get("/no/such/page/"))


def test_a_server_error_keeps_its_traceback_and_shows_the_500_page(client, alice, monkeypatch, caplog):
    from environments import views

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(views.queries, "environments_of", broken)
    client.force_login(alice)
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get("/")
    assert response.status_code == 500
    assert "Something went wrong on the panel's side" in text(response)
    errors = [r for r in caplog.records if r.name == "django.request"]
    assert errors and errors[0].exc_info is not None and isinstance(errors[0].exc_info[1], RuntimeError)
