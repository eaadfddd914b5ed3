"""Hypothesis against the request form (the page and its plan preview): no input gives a server
error. Values are drawn near the valid ones (the seed's zone, the team, CIDR blocks) as well as far
from them (NUL bytes, netmasks, huge numbers, long text), so both the form's and the services'
checks are reached."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from environments.models import EnvironmentRequest
from environments.validation import CIDR_MAX, NAME_MAX, PURPOSE_MAX

pytestmark = pytest.mark.django_db

TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=60)  # lone surrogates cannot be sent
LONG = st.builds(lambda c, n: c * n, st.sampled_from(["a", "\x00", "é", "9", "-"]), st.integers(1, 5000))
NUMBER = st.one_of(st.integers(-(10**20), 10**20), st.sampled_from(["1e12", "1.5", "-0", "", "NaN", "٣"])).map(str)
CIDR = st.one_of(
    st.sampled_from(["10.0.0.0/16", "10.0.1.0/24", "10.0.0.0/24", "10.0.0.0/255.255.0.0", "10.0.0.1/16", "::/0"]),
    st.builds(
        "{}.{}.{}.{}/{}".format,
        *[st.integers(0, 300)] * 4,
        st.one_of(st.integers(0, 40), st.just("255.255.255.0")),
    ),
    TEXT,
)


def near(*valid: str, extra=TEXT):
    return st.one_of(st.sampled_from(valid), extra, LONG)


FORM = st.fixed_dictionaries(
    {},
    optional={
        "name": near("edge-fuzz", "a" * NAME_MAX, "a" * (NAME_MAX + 1), "Edge", "-x-"),
        "team": near("demo", "other"),
        "purpose": near("a" * PURPOSE_MAX, "a" * (PURPOSE_MAX + 1), "x\x00y"),
        "zone": near("us-west-2-wl1-sfo-wlz-1", "nowhere"),
        "instance_type": near("t3.medium", "g4dn.2xlarge", "m5.huge"),
        "bastion": near("yes", "no"),
        "vpc_cidr": CIDR,
        "public_subnet_cidr": CIDR,
        "wavelength_subnet_cidr": CIDR,
        "bastion_ssh_cidr": st.one_of(CIDR, st.just("1" * (CIDR_MAX + 5))),
        "ingress_mode": near("all", "custom"),
        "ingress_tcp": near("22,80,443", "1-65535", "0-70000", ",".join(str(p) for p in range(200)), "all"),
        "ingress_udp": near("5000-5100", "90-80", "x"),
        "ingress_icmp": near("on", ""),
        "ttl_hours": NUMBER,
        "key_name": near("my-key", "ключ", "a" * 256),
        "image_id": near("ami-0123456789abcdef0", "ami-xyz"),
        "from": NUMBER,
    },
)


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=FORM, preview=st.booleans())
def test_the_request_form_answers_any_input_without_a_server_error(client, alice, zone, team, data, preview):
    client.force_login(alice)
    path = "/requests/new/preview/" if preview else "/requests/new/"
    before = EnvironmentRequest.objects.count()
    response = client.post(path, data)  # the test client raises what the view raises: a 500 fails here
    assert response.status_code in (200, 302), (response.status_code, data)
    created = EnvironmentRequest.objects.count() - before
    if response.status_code == 200:
        # Refused (or previewed): nothing created, and the form is shown again with the input in it.
        assert created == 0 and b'name="name"' in response.content
    else:
        assert created == 1 and not preview and response["Location"].startswith("/requests/")
