"""The environment's diagram (environments/topology.py): its data, and the SVG drawn from it. Pure."""

import xml.etree.ElementTree as ET
from dataclasses import replace

from netmodel.network import Subnet
from netmodel.topology import topology_summary, topology_svg
from netmodel.traffic import traffic_matrix

from .test_traffic import SFO, seed_network

SVG = "{http://www.w3.org/2000/svg}"


def nodes(summary) -> dict[str, dict]:
    return {item["id"]: item for item in summary if item["kind"] == "node"}


def edges(summary) -> dict[str, dict]:
    return {item["id"]: item for item in summary if item["kind"] == "edge"}


def test_seed_environment_nodes():
    found = nodes(topology_summary(seed_network()))

    assert list(found) == [
        "region",
        "vpc",
        "region-az",
        "public-subnet",
        "bastion",
        "internet-gateway",
        "wavelength-zone",
        "wavelength-subnet",
        "wavelength-instance",
        "carrier-ip",
        "carrier-gateway",
        "internet",
        "carrier-network",
        "other-carriers",
    ]
    assert all(node["state"] == "present" for node in found.values())
    assert found["public-subnet"]["detail"] == "10.0.1.0/24 · subnet-0public"
    assert found["bastion"]["detail"] == "10.0.1.204 · public 198.51.100.7"
    assert found["wavelength-subnet"]["detail"] == "10.0.0.0/24 · subnet-0wavelength"
    assert found["wavelength-instance"]["detail"] == "i-0wavelength · 10.0.0.111"
    assert found["carrier-ip"]["detail"] == "155.146.10.20"
    assert found["carrier-network"]["detail"] == "Verizon · San Francisco Bay Area"
    assert found["wavelength-zone"]["detail"] == "us-west-2-wl1-sfo-wlz-1"


def test_seed_environment_access_paths_follow_the_matrix():
    found = edges(topology_summary(seed_network()))

    assert {edge_id: (e["status"], e["label"]) for edge_id, e in found.items()} == {
        "region-subnet-to-wavelength-instance": ("allowed", "all"),
        "wavelength-instance-to-region-subnet": ("allowed", "all"),
        "internet-to-wavelength-instance": ("partial", "ICMP only"),
        "wavelength-instance-to-internet": ("partial", "TCP out + responses, ICMP"),
        "carrier-metro-to-wavelength-instance": ("allowed", "all"),
        "wavelength-instance-to-carrier-metro": ("allowed", "all"),
        "carrier-other-to-wavelength-instance": ("denied", "denied"),
        "wavelength-instance-to-carrier-other": ("partial", "TCP out + responses, ICMP"),
    }
    internet_in = found["internet-to-wavelength-instance"]
    assert (internet_in["source"], internet_in["target"], internet_in["via"]) == (
        "internet",
        "wavelength-instance",
        ["carrier-gateway"],
    )
    assert found["region-subnet-to-wavelength-instance"]["source"] == "bastion"


def test_seed_environment_links():
    links = [(i["source"], i["target"]) for i in topology_summary(seed_network()) if i["kind"] == "link"]

    assert links == [
        ("public-subnet", "internet-gateway"),
        ("internet-gateway", "internet"),
        ("carrier-ip", "carrier-gateway"),
    ]


def test_a_bastionless_environment_has_no_public_subnet_or_internet_gateway():
    summary = topology_summary(seed_network(bastion=False))

    assert not {"region-az", "public-subnet", "bastion", "internet-gateway"} & set(nodes(summary))
    assert not any(
        e["id"].startswith("region-subnet") or e["id"].endswith("region-subnet")
        for e in edges(summary).values()
    )
    assert [(i["source"], i["target"]) for i in summary if i["kind"] == "link"] == [
        ("carrier-ip", "carrier-gateway")
    ]
    assert "Internet gateway" not in topology_svg(seed_network(bastion=False))


def test_resources_not_built_yet_are_pending():
    network = seed_network()
    network = replace(
        network,
        instances=network.instances[:1],
        carrier_ips=(),
        pending=frozenset({"wavelength_instance", "carrier_ip"}),
    )
    summary = topology_summary(network)

    assert nodes(summary)["wavelength-instance"]["state"] == "pending"
    assert nodes(summary)["carrier-ip"]["state"] == "pending"
    assert {e["status"] for e in edges(summary).values()} == {"pending"}
    assert "Instance (pending)" in topology_svg(network)


def test_a_planned_bastion_not_built_yet_is_drawn_pending():
    network = replace(
        seed_network(bastion=False), pending=frozenset({"public_subnet", "bastion", "internet_gateway"})
    )

    found = nodes(topology_summary(network))

    assert {found[n]["state"] for n in ("public-subnet", "bastion", "internet-gateway")} == {"pending"}


def test_a_resource_neither_described_nor_planned_is_missing():
    found = nodes(topology_summary(seed_network(carrier_ip=False)))

    assert found["carrier-ip"]["state"] == "missing"


def test_the_matrix_given_is_the_one_drawn():
    network = seed_network()
    matrix = traffic_matrix(seed_network(carrier_ip=False))

    found = edges(topology_summary(network, matrix=matrix))

    assert found["wavelength-instance-to-carrier-metro"]["status"] == "denied"


def test_two_wavelength_zones_show_the_other_zone_unreachable():
    network = seed_network()
    network = replace(
        network, subnets=(*network.subnets, Subnet("subnet-0las", "10.0.2.0/24", "us-west-2-wl1-las-wlz-1"))
    )

    summary = topology_summary(network)

    assert nodes(summary)["other-wavelength-zone"]["detail"] == "us-west-2-wl1-las-wlz-1"
    assert edges(summary)["other-wavelength-zone-to-wavelength-instance"]["status"] == "denied"
    assert edges(summary)["wavelength-instance-to-other-wavelength-zone"]["status"] == "denied"
    ET.fromstring(topology_svg(network))


def test_the_svg_parses_and_is_an_accessible_image():
    root = ET.fromstring(topology_svg(seed_network()))

    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Network of the Wavelength environment in us-west-2-wl1-sfo-wlz-1"
    assert root.find(f"{SVG}style") is not None
    assert root.find(f".//{SVG}script") is None
    drawn_edges = {g.get("data-edge"): g for g in root.iter(f"{SVG}g") if g.get("data-edge")}
    assert len(drawn_edges) == 8
    internet_in = drawn_edges["internet-to-wavelength-instance"]
    assert internet_in.find(f"{SVG}polyline").get("class") == "path partial"
    assert internet_in.find(f"{SVG}text").text == "in: ICMP only"


def test_labels_from_users_are_escaped():
    zone = replace(SFO, carrier="<script>x</script>", metro='"&<b>')
    network = replace(seed_network(), zone=zone)

    svg = topology_svg(network)

    assert "<script" not in svg
    assert "&lt;script&gt;x&lt;/script&gt;" in svg
    root = ET.fromstring(svg)
    carrier = next(g for g in root.iter(f"{SVG}g") if g.get("data-node") == "carrier-network")
    assert [t.text for t in carrier.iter(f"{SVG}text")] == [
        "Carrier network",
        '<script>x</script> · "&<b>',
    ]


def test_long_labels_are_shortened_to_fit_their_box():
    zone = replace(SFO, metro="A metro area with a name far too long to fit in its box at all")

    root = ET.fromstring(topology_svg(replace(seed_network(), zone=zone)))

    carrier = next(g for g in root.iter(f"{SVG}g") if g.get("data-node") == "carrier-network")
    assert [t.text for t in carrier.iter(f"{SVG}text")][1].endswith("…")


def test_the_svg_is_deterministic():
    assert topology_svg(seed_network()) == topology_svg(seed_network())
    assert topology_svg(seed_network(bastion=False)) == topology_svg(seed_network(bastion=False))
