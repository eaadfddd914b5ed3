"""The SSRF guard: which destinations a webhook may have."""

import pytest

from notify.destinations import DestinationRefused, destination_check


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "the cloud metadata service"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "the cloud metadata service"),
        ("http://169.254.10.1/hook", "link-local"),
        ("http://10.0.0.1/hook", "private"),
        ("https://192.168.1.20/hook", "private"),
        ("http://172.16.5.5:8080/hook", "private"),
        ("http://[fd12:3456::1]/hook", "private"),
        ("http://100.64.0.1/hook", "reserved"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://[::ffff:10.0.0.1]/hook", "private"),
    ],
)
def test_private_link_local_and_metadata_destinations_are_refused(url, reason):
    with pytest.raises(DestinationRefused, match=reason):
        destination_check(url)


def test_an_admin_setting_allows_a_private_network(settings):
    settings.WLPANEL_WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert destination_check("http://10.0.0.1:8080/hook?x=1").address == "10.0.0.1"
    with pytest.raises(DestinationRefused, match="private"):
        destination_check("http://192.168.1.1/hook")


def test_loopback_is_allowed_in_the_local_profile_only(settings):
    settings.PRODUCTION = False
    destination = destination_check("http://localhost:9000/hook")
    assert destination.address in ("127.0.0.1", "::1") and destination.host_header == "localhost:9000"
    settings.PRODUCTION = True
    settings.WLPANEL_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # not even an admin's setting lets it through
    with pytest.raises(DestinationRefused, match="loopback"):
        destination_check("http://127.0.0.1:9000/hook")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/hook", "Only http"),
        ("file:///etc/passwd", "Only http"),
        ("http://user:pass@127.0.0.1/hook", "credentials"),
        ("http:///hook", "no host"),
    ],
)
def test_other_schemes_credentials_and_hostless_urls_are_refused(url, reason):
    with pytest.raises(DestinationRefused, match=reason):
        destination_check(url)
