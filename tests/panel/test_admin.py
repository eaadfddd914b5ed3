import pytest

pytestmark = pytest.mark.django_db


def test_admin_pages_load_and_environments_are_read_only(client, admin_user, alice, make_environment):
    environment = make_environment(alice)
    client.force_login(admin_user)
    for path in ("environments/zone", "environments/environmentrequest", "environments/environment", "notify/notification"):
        assert client.get(f"/admin/{path}/").status_code == 200, path
    page = client.get(f"/admin/environments/environment/{environment.pk}/change/")
    assert page.status_code == 200 and b"wavelength_instance" in page.content
    assert client.post(f"/admin/environments/environment/{environment.pk}/delete/", {"post": "yes"}).status_code == 403
