"""Email: a notification reaches a real SMTP server process, in plain text and HTML, with the link
back to the page."""

from tests.conftest import wait_for


def _parts(message) -> dict[str, str]:
    return {part.get_content_type(): part.get_payload(decode=True).decode() for part in message.walk() if not part.is_multipart()}


def test_approver_is_mailed_a_waiting_request_with_its_link(smtp_server, settings, make_request, alice, bob, django_capture_on_commit_callbacks):
    settings.WLPANEL_BASE_URL = "https://wlpanel.example.test"
    with django_capture_on_commit_callbacks(execute=True):
        request = make_request(alice, name="edge-mail")

    (message,) = wait_for(smtp_server.messages, timeout=30, message="the mail at the SMTP server")
    assert message["To"] == "bob@example.test"
    assert message["X-Wlpanel-Event"] == "request.created"
    assert "demo/edge-mail" in message["Subject"]
    parts = _parts(message)
    link = f"https://wlpanel.example.test/requests/{request.pk}/"
    assert link in parts["text/plain"]
    assert f'href="{link}"' in parts["text/html"]


def test_nothing_is_mailed_when_the_work_rolls_back(smtp_server, make_request, alice, bob, django_capture_on_commit_callbacks):
    from django.db import transaction

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        try:
            with transaction.atomic():
                make_request(alice, name="edge-rolled-back")
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
    assert callbacks == []
    assert smtp_server.messages() == []


def test_a_mail_server_that_is_down_does_not_fail_the_request(settings, make_request, alice, bob, django_capture_on_commit_callbacks):
    from tests.notify.conftest import free_port

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()
    with django_capture_on_commit_callbacks(execute=True):
        request = make_request(alice, name="edge-no-smtp")
    assert request.pk is not None
    assert bob.notifications.filter(link=f"/requests/{request.pk}/").exists()
