"""Which probes a run plans and how cells are judged: pure, on the seed's network."""

from checks.planning import Outside, cell_verdicts, plan_probes, port_allowed
from netmodel.network import PortSet, Rule
from netmodel.probes import parse_shell_commands
from netmodel.traffic import traffic_matrix
from tests.netmodel.test_traffic import CARRIER_IP, CASABLANCA, seed_network

AWS_OUTSIDE = Outside(
    addresses={"internet": "192.0.2.80"},
    can_send_from=frozenset({"internet"}),
    why_not={
        "carrier-metro": "not verifiable here: needs a device on the carrier network in the zone's metro",
        "carrier-other": "not verifiable here: needs a device on the carrier network of another carrier or metro area",
    },
)


def test_on_aws_carrier_cells_are_not_verifiable_with_the_exact_command():
    network = seed_network()
    planned = plan_probes(network, traffic_matrix(network), AWS_OUTSIDE, timeout=2)
    from_metro = [p for p in planned if p.source == "carrier-metro"]
    assert from_metro and all(p.request is None and p.sender == "" for p in from_metro)
    (udp,) = [p for p in from_metro if p.protocol == "udp"]
    assert udp.why_not.startswith(
        "not verifiable here: needs a device on the carrier network in the zone's metro"
    )
    command = udp.why_not.split("run from such a device:\n", 1)[1].splitlines()
    request = parse_shell_commands(command)  # the product's own script, runnable by hand
    assert (request.mode, request.target, request.port) == ("udp", CARRIER_IP, 53)
    # To the carrier network from the instance: no address to aim at, so no command either.
    to_metro = [p for p in planned if p.destination == "carrier-metro"]
    assert all(p.request is None and "needs a device on the carrier network" in p.why_not for p in to_metro)
    # The internet and the VPC are verifiable: from the panel's host and through SSM.
    assert all(p.request is not None for p in planned if p.source == "internet")
    assert {p.sender for p in planned if p.source == "region-subnet"} == {"i-0bastion"}


def test_expected_follows_the_matrix_port_by_port():
    network = seed_network(wavelength_ingress=(Rule("tcp", PortSet.of((8080, 8080)), cidr="0.0.0.0/0"),))
    rows = traffic_matrix(network)
    planned = plan_probes(network, rows, AWS_OUTSIDE, timeout=2)
    metro_tcp = {p.port: p.expected for p in planned if (p.source, p.protocol) == ("carrier-metro", "tcp")}
    assert metro_tcp == {22: False, 8080: True}  # the security group opens 8080 only
    (row,) = [
        r
        for r in rows
        if (r.source, r.destination, r.protocol) == ("carrier-metro", "wavelength-instance", "tcp")
    ]
    assert port_allowed(row, 8080) and not port_allowed(row, 8081)


def test_casablanca_predicts_tcp_from_the_internet():
    network = seed_network(zone=CASABLANCA)
    planned = plan_probes(network, traffic_matrix(network), AWS_OUTSIDE, timeout=2)
    assert [p.expected for p in planned if (p.source, p.protocol) == ("internet", "tcp")] == [True]
    sfo = seed_network()
    planned = plan_probes(sfo, traffic_matrix(sfo), AWS_OUTSIDE, timeout=2)
    assert [p.expected for p in planned if (p.source, p.protocol) == ("internet", "tcp")] == [False]


def test_cell_verdicts():
    base = {
        "source": "internet",
        "destination": "wavelength-instance",
        "protocol": "tcp",
        "detail": "timeout",
    }
    items = [
        {**base, "port": 22, "expected": False, "observed": False, "verifiable": True},
        {**base, "port": 8080, "expected": True, "observed": False, "verifiable": True},
        {**base, "protocol": "icmp", "port": None, "expected": True, "observed": True, "verifiable": True},
        {
            **base,
            "protocol": "udp",
            "port": 53,
            "expected": False,
            "observed": None,
            "verifiable": False,
            "detail": "lab unavailable: needs CAP_NET_ADMIN",
        },
    ]
    verdicts = cell_verdicts(items)
    assert verdicts[("internet", "wavelength-instance", "tcp")]["verdict"] == "contradicted"
    assert (
        "tcp 8080: expected allowed, observed blocked"
        in verdicts[("internet", "wavelength-instance", "tcp")]["why"]
    )
    assert verdicts[("internet", "wavelength-instance", "icmp")]["verdict"] == "verified"
    assert verdicts[("internet", "wavelength-instance", "udp")] == {
        "verdict": "not_verifiable",
        "why": "lab unavailable: needs CAP_NET_ADMIN",
    }
