"""environments.connect: who reaches the environment by SSH, from where, and when to say so."""

import pytest
from django.test import RequestFactory

from environments.connect import client_address, connection_help, ssh_cidr_warnings, suggested_ssh_cidr

ADDRESSES = {"bastion_public_ip": "203.0.113.10", "instance_private_ip": "10.0.0.20"}
READY = {"bastion": True, "key_name": "lab", "bastion_ssh_cidr": "198.51.100.0/28"}


def test_commands_only_when_key_bastion_and_rule_are_there():
    shown = connection_help(spec=READY, addresses=ADDRESSES, viewer="198.51.100.7")
    assert shown["commands"] == [
        "ssh-add ~/.ssh/lab.pem   # the private key of key pair lab",
        "ssh -J ec2-user@203.0.113.10 ec2-user@10.0.0.20",
    ]
    assert shown["missing"] == [] and shown["warnings"] == []


@pytest.mark.parametrize(
    ("spec", "viewer", "missing"),
    [
        ({**READY, "key_name": ""}, "198.51.100.7", "No EC2 key pair was chosen"),
        ({**READY, "bastion_ssh_cidr": ""}, "198.51.100.7", "admits SSH from no address outside the VPC"),
        (READY, "192.0.2.50", "The bastion admits SSH only from 198.51.100.0/28; the panel sees you at 192.0.2.50."),
        ({**READY, "bastion": False}, "198.51.100.7", "This environment has no bastion"),
        ({**READY, "bastion_ssh_cidr": "10.0.0.0/16"}, "10.0.0.5", "a private range: nobody outside the VPC reaches it"),
    ],
)
def test_what_is_missing_is_said_instead_of_commands(spec, viewer, missing):
    shown = connection_help(spec=spec, addresses=ADDRESSES, viewer=viewer)
    assert shown["commands"] == []
    assert any(missing in what for what, _fix in shown["missing"]), shown["missing"]
    assert all(fix for _what, fix in shown["missing"])


def test_behind_a_nat_the_panel_does_not_refuse_but_warns():
    shown = connection_help(spec=READY, addresses=ADDRESSES, viewer="10.1.2.3")
    assert shown["commands"] and any("a private address" in warning for warning in shown["warnings"])


def test_no_commands_before_the_addresses_are_known():
    assert connection_help(spec=READY, addresses={}, viewer="198.51.100.7")["commands"] == []


def test_warnings_for_the_internet_and_wide_public_ranges():
    assert "the whole internet" in ssh_cidr_warnings("0.0.0.0/0")[0]
    assert "public range of 65,536 addresses" in ssh_cidr_warnings("52.10.0.0/16")[0]
    assert ssh_cidr_warnings("198.51.100.7/32", "198.51.100.7") == []
    assert "private range" in ssh_cidr_warnings("10.0.0.0/16")[0]
    assert ssh_cidr_warnings("") == [] and ssh_cidr_warnings("not a cidr") == []


def test_the_requesters_address_behind_a_trusted_proxy(settings):
    factory = RequestFactory()
    settings.WLPANEL_TRUSTED_PROXIES = "0"
    direct = factory.get("/", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_address(direct) == "198.51.100.7"  # no trusted proxy: the header is not believed
    settings.WLPANEL_TRUSTED_PROXIES = "10.0.0.0/8"
    proxied = factory.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7, 10.0.0.9")
    assert client_address(proxied) == "198.51.100.7"  # the nearest hop that is not a trusted proxy
    assert suggested_ssh_cidr("198.51.100.7") == "198.51.100.7/32" and suggested_ssh_cidr("::1") == ""
    assert suggested_ssh_cidr("127.0.0.1") == "" and suggested_ssh_cidr("10.1.2.3") == ""  # AWS sees another
