from environments.validation import ingress_errors, network_errors, port_ranges

DEFAULTS = {"vpc_cidr": "10.0.0.0/16", "public_subnet_cidr": "10.0.1.0/24", "wavelength_subnet_cidr": "10.0.0.0/24", "bastion": True}


def errors(**changes):
    return network_errors(**{**DEFAULTS, **changes})


def test_the_defaults_are_valid():
    assert errors() == {}


def test_subnet_outside_the_vpc():
    assert "not inside the VPC" in errors(wavelength_subnet_cidr="192.168.0.0/24")["wavelength_subnet_cidr"][0]


def test_overlapping_subnets():
    assert "overlaps" in errors(public_subnet_cidr="10.0.0.0/23")["public_subnet_cidr"][0]


def test_sizes_aws_accepts():
    assert "/16 to /28" in errors(vpc_cidr="10.0.0.0/8")["vpc_cidr"][0]
    assert "/16 to /28" in errors(wavelength_subnet_cidr="10.0.0.0/29")["wavelength_subnet_cidr"][0]


def test_not_a_cidr_and_not_ipv6():
    assert "not an IPv4 CIDR" in errors(vpc_cidr="10.0.0.1/16")["vpc_cidr"][0]
    assert "IPv4" in errors(wavelength_subnet_cidr="2001:db8::/64")["wavelength_subnet_cidr"][0]


def test_public_subnet_ignored_without_a_bastion_but_ssh_range_needs_one():
    assert errors(bastion=False, public_subnet_cidr="garbage") == {}
    assert "no bastion" in errors(bastion=False, bastion_ssh_cidr="203.0.113.0/24")["bastion_ssh_cidr"][0]


def test_ingress_rules():
    assert ingress_errors([{"protocol": "all", "ports": None}, {"protocol": "tcp", "ports": "22,80-90"}]) == {}
    messages = ingress_errors([
        {"protocol": "sctp", "ports": None},
        {"protocol": "icmp", "ports": "80"},
        {"protocol": "tcp", "ports": "90-80"},
        {"protocol": "udp", "ports": "http"},
        {"protocol": "tcp", "ports": "70000"},
    ])["wavelength_ingress"]
    assert len(messages) == 5
    assert ingress_errors("all") == {"wavelength_ingress": ["Must be a list of {protocol, ports} rules."]}


def test_port_ranges():
    assert port_ranges(None) is None
    assert port_ranges("22, 1000-2000") == [(22, 22), (1000, 2000)]


def test_netmask_notation_is_refused_with_the_prefix_to_write_instead():
    from environments.validation import cidr_error

    assert cidr_error("10.0.0.0/255.255.0.0") == "“10.0.0.0/255.255.0.0” uses a netmask: write the prefix length instead, 10.0.0.0/16."
    assert "not a valid one" in cidr_error("10.0.0.0/255.0.255.0")
    assert "host bits" in cidr_error("10.0.0.1/16") and "10.0.0.0/16" in cidr_error("10.0.0.1/16")
    assert "netmask" in errors(vpc_cidr="10.0.0.0/255.255.0.0")["vpc_cidr"][0]
    for bare_or_bad in ("10.0.0.0", "10.0.0.0/33", "999.0.0.0/16", "10.0.0.0/16\x00", " 10.0.0.0/16"):
        assert "not an IPv4 CIDR" in cidr_error(bare_or_bad), bare_or_bad
    assert cidr_error("10.0.0.0/16") is None and cidr_error("0.0.0.0/0") is None


def test_ingress_rule_and_port_range_counts_are_bounded():
    from environments.validation import INGRESS_RULES_MAX, PORT_RANGES_MAX

    assert "at most 8" in ingress_errors([{"protocol": "all", "ports": None}] * (INGRESS_RULES_MAX + 1))["wavelength_ingress"][0]
    assert ingress_errors([{"protocol": "tcp", "ports": ",".join(["22"] * PORT_RANGES_MAX)}]) == {}
    too_many = ingress_errors([{"protocol": "tcp", "ports": ",".join(["22"] * (PORT_RANGES_MAX + 1))}])
    assert "At most 50" in too_many["wavelength_ingress"][0]
    assert "at most 200 characters" in ingress_errors([{"protocol": "udp", "ports": "1," * 150}])["wavelength_ingress"][0]
