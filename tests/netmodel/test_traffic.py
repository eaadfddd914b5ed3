"""The allowed-traffic matrix (environments/traffic.py), and the network it reads (network.py).

Pure: no Django, no database, no AWS. `seed_network()` builds the seed's environment directly;
test (j) checks that the boto3-shaped descriptions the engine stores give the same thing.
"""

from dataclasses import replace

import pytest

from netmodel.network import (
    AclEntry,
    CarrierIp,
    Gateway,
    Instance,
    Network,
    NetworkAcl,
    PortSet,
    Route,
    RouteTable,
    Rule,
    SecurityGroup,
    Subnet,
    Vpc,
    Zone,
    network_from_described,
)
from netmodel.traffic import (
    CARRIER_METRO,
    CARRIER_OTHER,
    INTERNET,
    OTHER_WAVELENGTH_ZONE,
    REGION_SUBNET,
    WAVELENGTH_INSTANCE,
    matrix_as_dicts,
    traffic_matrix,
)

WL = WAVELENGTH_INSTANCE
SFO = Zone(
    name="us-west-2-wl1-sfo-wlz-1",
    region="us-west-2",
    group_name="us-west-2-wl1",
    parent_zone_name="us-west-2a",
    carrier="Verizon",
    metro="San Francisco Bay Area",
)
# The carrier of the Casablanca zone is unconfirmed (wavelength-facts 1.5): left empty on purpose.
CASABLANCA = Zone(
    name="eu-west-3-wl1-cmn-wlz-1",
    region="eu-west-3",
    group_name="eu-west-3-wl1",
    parent_zone_name="eu-west-3a",
    metro="Casablanca",
)

VPC_CIDR = "10.0.0.0/16"
PUBLIC_CIDR = "10.0.1.0/24"
WAVELENGTH_CIDR = "10.0.0.0/24"
CARRIER_IP = "155.146.10.20"
ALL_FROM_ANYWHERE = Rule("all", cidr="0.0.0.0/0")

# What AWS creates with every VPC: allow everything both ways, then the "*" deny.
DEFAULT_ACL = NetworkAcl(
    "acl-0default",
    entries=(
        AclEntry(100, "all", allow=True, egress=True, cidr="0.0.0.0/0"),
        AclEntry(32767, "all", allow=False, egress=True, cidr="0.0.0.0/0"),
        AclEntry(100, "all", allow=True, egress=False, cidr="0.0.0.0/0"),
        AclEntry(32767, "all", allow=False, egress=False, cidr="0.0.0.0/0"),
    ),
    subnet_ids=("subnet-0public", "subnet-0wavelength"),
    is_default=True,
)


def seed_network(
    *,
    zone: Zone = SFO,
    bastion: bool = True,
    bastion_ssh_cidr: str = "",
    wavelength_ingress: tuple[Rule, ...] = (ALL_FROM_ANYWHERE,),
    carrier_route: bool = True,
    carrier_ip: bool = True,
    acls: tuple[NetworkAcl, ...] = (),
) -> Network:
    """The seed's environment, built with wlpanel's default security groups (the seed's build)."""
    bastion_ingress = (Rule("all", cidr=VPC_CIDR),) + (
        (Rule("tcp", PortSet.of((22, 22)), cidr=bastion_ssh_cidr),) if bastion_ssh_cidr else ()
    )
    wavelength_routes = (Route(VPC_CIDR, "local"),) + (
        (Route("0.0.0.0/0", "cagw-0seed"),) if carrier_route else ()
    )
    regional = bastion  # the public subnet, its gateway and its route table exist for the bastion
    return Network(
        zone=zone,
        vpc=Vpc("vpc-0seed", VPC_CIDR),
        subnets=((Subnet("subnet-0public", PUBLIC_CIDR, zone.parent_zone_name, True),) if regional else ())
        + (Subnet("subnet-0wavelength", WAVELENGTH_CIDR, zone.name),),
        route_tables=(
            (
                RouteTable(
                    "rtb-0public",
                    (Route(VPC_CIDR, "local"), Route("0.0.0.0/0", "igw-0seed")),
                    ("subnet-0public",),
                ),
            )
            if regional
            else ()
        )
        + (RouteTable("rtb-0wavelength", wavelength_routes, ("subnet-0wavelength",)),),
        security_groups=((SecurityGroup("sg-0bastion", "bastion_sg", bastion_ingress),) if bastion else ())
        + (
            SecurityGroup(
                "sg-0wavelength", "wavelength_sg", (Rule("all", cidr=VPC_CIDR), *wavelength_ingress)
            ),
        ),
        network_acls=acls,
        instances=(
            (
                Instance(
                    "i-0bastion",
                    "subnet-0public",
                    "10.0.1.204",
                    "198.51.100.7",
                    "running",
                    ("sg-0bastion",),
                    ("eni-0bastion",),
                ),
            )
            if bastion
            else ()
        )
        + (
            Instance(
                "i-0wavelength",
                "subnet-0wavelength",
                "10.0.0.111",
                state="running",
                security_group_ids=("sg-0wavelength",),
                network_interface_ids=("eni-0wavelength",),
                carrier_ip=CARRIER_IP if carrier_ip else "",
            ),
        ),
        internet_gateway=Gateway("igw-0seed") if regional else None,
        carrier_gateway=Gateway("cagw-0seed"),
        carrier_ips=(
            (
                CarrierIp(
                    "eipalloc-0seed",
                    CARRIER_IP,
                    zone.name,
                    "eipassoc-0seed",
                    "eni-0wavelength",
                    "i-0wavelength",
                ),
            )
            if carrier_ip
            else ()
        ),
    )


def allowed_protocols(rows) -> dict[tuple[str, str], set[str]]:
    """{(source, destination): the protocols some traffic of which gets through}."""
    result: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        result.setdefault((row.source, row.destination), set())
        if row.allowed:
            result[(row.source, row.destination)].add(row.protocol)
    return result


def row(rows, source, destination, protocol):
    return next(r for r in rows if (r.source, r.destination, r.protocol) == (source, destination, protocol))


# --- Ports ------------------------------------------------------------------------------------------


def test_port_sets_merge_and_print_sorted_ranges():
    ports = PortSet.of((2000, 3000), (80, 80), (22, 22), (1000, 2000), (81, 81))
    assert ports.labels() == ["22", "80-81", "1000-3000"]
    assert (ports & PortSet.of((0, 80))).labels() == ["22", "80"]
    assert (ports - PortSet.of((1500, 2500))).labels() == ["22", "80-81", "1000-1499", "2501-3000"]
    assert PortSet.between(-1, -1).is_all and PortSet.between(None, None).is_all


# --- (a) the seed's table ---------------------------------------------------------------------------


def test_seed_environment_gives_the_seed_table():
    rows = traffic_matrix(seed_network())

    assert allowed_protocols(rows) == {
        (REGION_SUBNET, WL): {"tcp", "udp", "icmp"},
        (WL, REGION_SUBNET): {"tcp", "udp", "icmp"},
        (CARRIER_METRO, WL): {"tcp", "udp", "icmp"},
        (WL, CARRIER_METRO): {"tcp", "udp", "icmp"},
        (CARRIER_OTHER, WL): set(),
        (WL, CARRIER_OTHER): {"tcp", "icmp"},
        (INTERNET, WL): {"icmp"},
        (WL, INTERNET): {"tcp", "icmp"},
    }
    assert all(r.ports is None for r in rows)  # the default groups limit no port


def test_seed_rows_name_the_rules_that_decided_them():
    rows = traffic_matrix(seed_network())

    assert row(rows, INTERNET, WL, "tcp").reasons == (
        "carrier gateway: TCP from the internet is not allowed (outbound TCP and its responses only)",
    )
    assert row(rows, WL, INTERNET, "udp").reasons == ("carrier gateway: UDP with the internet is denied",)
    assert row(rows, INTERNET, WL, "icmp").reasons == (
        "route table rtb-0wavelength: 0.0.0.0/0 → carrier gateway cagw-0seed",
        f"Carrier IP {CARRIER_IP} associated with the instance",
        "carrier gateway: ICMP with the internet is allowed",
        "network ACL of the Wavelength subnet: none described; the VPC default allows all both ways",
        "security group sg-0wavelength (wavelength_sg) rule: all protocols from 0.0.0.0/0",
    )
    assert row(rows, REGION_SUBNET, WL, "tcp").reasons == (
        "local route: traffic inside the VPC 10.0.0.0/16",
        "security group sg-0bastion (bastion_sg) rule: all protocols to 0.0.0.0/0",
        "network ACL of the regional subnet: none described; the VPC default allows all both ways",
        "network ACL of the Wavelength subnet: none described; the VPC default allows all both ways",
        "security group sg-0wavelength (wavelength_sg) rule: all protocols from 10.0.0.0/16",
        "security group sg-0wavelength (wavelength_sg) rule: all protocols from 0.0.0.0/0",
    )
    assert (
        "carrier gateway: all protocols with the carrier network (Verizon, San Francisco Bay Area) are allowed"
        in (row(rows, CARRIER_METRO, WL, "udp").reasons)
    )


def test_matrix_as_dicts_gives_the_api_items():
    items = matrix_as_dicts(traffic_matrix(seed_network()))

    assert len(items) == 8 * 3
    assert items[0] == {
        "source": REGION_SUBNET,
        "destination": WL,
        "protocol": "tcp",
        "allowed": True,
        "ports": None,
        "reasons": list(traffic_matrix(seed_network())[0].reasons),
    }
    assert [(i["source"], i["destination"], i["protocol"]) for i in items[:6]] == [
        (REGION_SUBNET, WL, "tcp"),
        (REGION_SUBNET, WL, "udp"),
        (REGION_SUBNET, WL, "icmp"),
        (WL, REGION_SUBNET, "tcp"),
        (WL, REGION_SUBNET, "udp"),
        (WL, REGION_SUBNET, "icmp"),
    ]


# --- (b) Casablanca ---------------------------------------------------------------------------------


def test_casablanca_zones_let_tcp_and_udp_in_from_the_internet():
    rows = traffic_matrix(seed_network(zone=CASABLANCA))

    assert allowed_protocols(rows)[(INTERNET, WL)] == {"tcp", "udp", "icmp"}
    assert allowed_protocols(rows)[(WL, INTERNET)] == {"tcp", "udp", "icmp"}
    assert (
        "carrier gateway: UDP with the internet is allowed in the Casablanca zones (parent eu-west-3)"
        in row(rows, INTERNET, WL, "udp").reasons
    )


# --- (c) the route to the carrier gateway -----------------------------------------------------------


def test_without_the_carrier_route_nothing_outside_the_vpc_is_reached():
    rows = traffic_matrix(seed_network(carrier_route=False))

    for outside in (CARRIER_METRO, CARRIER_OTHER, INTERNET):
        assert allowed_protocols(rows)[(outside, WL)] == set()
        assert allowed_protocols(rows)[(WL, outside)] == set()
    assert (
        "route table rtb-0wavelength: no 0.0.0.0/0 route to the carrier gateway"
        in row(rows, WL, INTERNET, "icmp").reasons
    )
    assert allowed_protocols(rows)[(REGION_SUBNET, WL)] == {
        "tcp",
        "udp",
        "icmp",
    }  # the local route still works


def test_a_route_to_a_deleted_carrier_gateway_is_a_blackhole():
    network = seed_network()
    blackhole = (Route(VPC_CIDR, "local"), Route("0.0.0.0/0", "cagw-0seed", "blackhole"))
    network = replace(
        network, route_tables=(network.route_tables[0], replace(network.route_tables[1], routes=blackhole))
    )

    reasons = row(traffic_matrix(network), WL, CARRIER_METRO, "tcp").reasons

    assert reasons == ("route table rtb-0wavelength: 0.0.0.0/0 → carrier gateway cagw-0seed is a blackhole",)


def test_the_main_route_table_serves_an_unassociated_wavelength_subnet():
    network = seed_network()
    main = RouteTable("rtb-0main", (Route(VPC_CIDR, "local"),), main=True)
    network = replace(network, route_tables=(network.route_tables[0], main))

    reasons = row(traffic_matrix(network), WL, INTERNET, "tcp").reasons

    assert reasons == ("route table rtb-0main (main): no 0.0.0.0/0 route to the carrier gateway",)


# --- (d) the Carrier IP -----------------------------------------------------------------------------


def test_without_a_carrier_ip_nothing_outside_the_vpc_reaches_or_is_reached():
    rows = traffic_matrix(seed_network(carrier_ip=False))

    for outside in (CARRIER_METRO, CARRIER_OTHER, INTERNET):
        assert allowed_protocols(rows)[(outside, WL)] == set()
        assert allowed_protocols(rows)[(WL, outside)] == set()
    assert row(rows, CARRIER_METRO, WL, "tcp").reasons == (
        "no Carrier IP associated with the instance (the carrier gateway translates only to Carrier IPs)",
    )
    assert allowed_protocols(rows)[(WL, REGION_SUBNET)] == {"tcp", "udp", "icmp"}


def test_a_carrier_ip_allocated_but_not_associated_does_not_count():
    network = seed_network(carrier_ip=False)
    network = replace(network, carrier_ips=(CarrierIp("eipalloc-0seed", CARRIER_IP, SFO.name),))

    assert allowed_protocols(traffic_matrix(network))[(WL, CARRIER_METRO)] == set()


# --- (e) other metros and carriers ------------------------------------------------------------------


def test_other_metros_and_carriers_do_not_reach_the_instance():
    rows = traffic_matrix(seed_network())

    assert allowed_protocols(rows)[(CARRIER_OTHER, WL)] == set()
    reasons = row(rows, CARRIER_OTHER, WL, "icmp").reasons
    assert "other metro areas and other carriers cannot reach the zone" in reasons[0]
    assert "optimized for devices in the location of the Wavelength Zone" in reasons[0]


# --- (f) ports from security groups -----------------------------------------------------------------


def test_ssh_only_from_the_bastion_subnet_and_http_from_anywhere():
    ssh_and_http = (
        Rule("tcp", PortSet.of((22, 22)), cidr=PUBLIC_CIDR),
        Rule("tcp", PortSet.of((80, 80)), cidr="0.0.0.0/0"),
    )
    network = seed_network()
    wavelength_sg = SecurityGroup("sg-0wavelength", "wavelength_sg", ssh_and_http)
    network = replace(network, security_groups=(network.security_groups[0], wavelength_sg))
    rows = traffic_matrix(network)

    from_carrier = row(rows, CARRIER_METRO, WL, "tcp")
    assert from_carrier.allowed and from_carrier.ports == ("80",)
    assert "security group sg-0wavelength (wavelength_sg) rule: tcp 80 from 0.0.0.0/0" in from_carrier.reasons
    assert (
        "security group sg-0wavelength (wavelength_sg) rule tcp 22 from 10.0.1.0/24 does not apply to public addresses"
        in from_carrier.reasons
    )
    assert row(rows, REGION_SUBNET, WL, "tcp").ports == ("22", "80")
    assert not row(rows, CARRIER_METRO, WL, "udp").allowed
    assert row(rows, CARRIER_METRO, WL, "udp").reasons[0] == (
        "security group sg-0wavelength (wavelength_sg): no inbound rule allows udp from public addresses"
    )
    assert row(rows, WL, CARRIER_METRO, "udp").allowed  # egress is still the default: all


def test_a_rule_naming_the_bastion_group_admits_the_regional_subnet_only():
    from_bastion = (Rule("tcp", PortSet.of((22, 22)), group_id="sg-0bastion"),)
    network = seed_network()
    network = replace(
        network,
        security_groups=(
            network.security_groups[0],
            SecurityGroup("sg-0wavelength", "wavelength_sg", from_bastion),
        ),
    )
    rows = traffic_matrix(network)

    assert row(rows, REGION_SUBNET, WL, "tcp").ports == ("22",)
    assert not row(rows, CARRIER_METRO, WL, "tcp").allowed
    assert not row(rows, REGION_SUBNET, WL, "icmp").allowed


def test_a_narrow_ingress_rule_leaves_the_internet_at_what_the_gateway_allows():
    network = seed_network(
        wavelength_ingress=(Rule("tcp", PortSet.of((443, 443), (1000, 2000)), cidr="0.0.0.0/0"),)
    )
    rows = traffic_matrix(network)

    assert row(rows, CARRIER_METRO, WL, "tcp").ports == ("443", "1000-2000")
    assert allowed_protocols(rows)[(INTERNET, WL)] == set()  # ICMP is now closed by the group


# --- (g) network ACLs -------------------------------------------------------------------------------


def test_a_network_acl_that_denies_udp_is_the_reason():
    deny_udp = (
        AclEntry(90, "udp", allow=False, egress=False, cidr="0.0.0.0/0"),
        AclEntry(90, "udp", allow=False, egress=True, cidr="0.0.0.0/0"),
    )
    acl = replace(DEFAULT_ACL, entries=deny_udp + DEFAULT_ACL.entries)
    rows = traffic_matrix(seed_network(acls=(acl,)))

    assert allowed_protocols(rows)[(CARRIER_METRO, WL)] == {"tcp", "icmp"}
    assert row(rows, CARRIER_METRO, WL, "udp").reasons == (
        "network ACL acl-0default (Wavelength subnet) rule 90 denies inbound udp from 0.0.0.0/0",
        "network ACL acl-0default (Wavelength subnet) rule 90 denies outbound udp to 0.0.0.0/0 "
        "(the responses; ACLs are stateless)",
    )
    assert allowed_protocols(rows)[(REGION_SUBNET, WL)] == {"tcp", "icmp"}


def test_network_acl_port_denies_narrow_the_ports_and_are_named():
    deny_ssh = AclEntry(50, "tcp", allow=False, egress=False, cidr="0.0.0.0/0", ports=PortSet.of((22, 22)))
    acl = replace(DEFAULT_ACL, entries=(deny_ssh, *DEFAULT_ACL.entries))

    tcp_in = row(traffic_matrix(seed_network(acls=(acl,))), CARRIER_METRO, WL, "tcp")

    assert tcp_in.ports == ("0-21", "23-65535")
    assert (
        "network ACL acl-0default (Wavelength subnet) rule 50 denies inbound tcp 22 from 0.0.0.0/0"
        in tcp_in.reasons
    )


def test_stateless_acl_blocking_responses_blocks_the_flow():
    # Outbound only to port 443: the responses to clients' ephemeral ports cannot leave.
    entries = (
        AclEntry(100, "all", allow=True, egress=False, cidr="0.0.0.0/0"),
        AclEntry(100, "tcp", allow=True, egress=True, cidr="0.0.0.0/0", ports=PortSet.of((443, 443))),
    )
    acl = replace(DEFAULT_ACL, entries=entries)

    tcp_in = row(traffic_matrix(seed_network(acls=(acl,))), CARRIER_METRO, WL, "tcp")

    assert not tcp_in.allowed
    assert tcp_in.reasons == (
        "network ACL acl-0default (Wavelength subnet): no rule allows outbound tcp 1024-65535 "
        "to public addresses (the responses; ACLs are stateless); rule * denies",
    )


def test_an_acl_deny_for_part_of_the_internet_does_not_stop_it():
    partial_deny = AclEntry(50, "all", allow=False, egress=False, cidr="203.0.113.0/24")
    acl = replace(DEFAULT_ACL, entries=(partial_deny, *DEFAULT_ACL.entries))

    assert row(traffic_matrix(seed_network(acls=(acl,))), INTERNET, WL, "icmp").allowed


# --- (h) two Wavelength Zones -----------------------------------------------------------------------


def test_two_wavelength_zones_in_one_vpc_cannot_reach_each_other():
    network = seed_network()
    las = Subnet("subnet-0las", "10.0.2.0/24", "us-west-2-wl1-las-wlz-1")
    las_instance = Instance("i-0las", "subnet-0las", "10.0.2.10", security_group_ids=("sg-0wavelength",))
    network = replace(network, subnets=(*network.subnets, las), instances=(*network.instances, las_instance))
    rows = traffic_matrix(network)

    assert allowed_protocols(rows)[(OTHER_WAVELENGTH_ZONE, WL)] == set()
    assert allowed_protocols(rows)[(WL, OTHER_WAVELENGTH_ZONE)] == set()
    assert (
        "cannot reach each other (other zone: us-west-2-wl1-las-wlz-1)"
        in row(rows, WL, OTHER_WAVELENGTH_ZONE, "tcp").reasons[0]
    )
    assert network.wavelength_instance.instance_id == "i-0wavelength"  # the zone decides, not the order
    assert allowed_protocols(rows)[(REGION_SUBNET, WL)] == {"tcp", "udp", "icmp"}


def test_one_wavelength_zone_has_no_other_zone_rows():
    assert OTHER_WAVELENGTH_ZONE not in {r.source for r in traffic_matrix(seed_network())}


# --- (i) partial builds -----------------------------------------------------------------------------


def test_before_the_wavelength_instance_exists_every_row_says_so():
    network = seed_network()
    network = replace(network, instances=network.instances[:1], carrier_ips=())

    rows = traffic_matrix(network)

    assert len(rows) == 24
    assert all(not r.allowed and r.reasons == ("no Wavelength instance yet",) for r in rows)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"vpc": None}, "no VPC yet"),
        ({"subnets": ()}, "no Wavelength subnet yet"),
    ],
)
def test_earlier_missing_pieces_are_named_first(change, reason):
    rows = traffic_matrix(replace(seed_network(), **change))

    assert {r.reasons for r in rows} == {(reason,)}


def test_a_stopped_instance_receives_nothing():
    network = seed_network()
    stopped = replace(network.instances[1], state="stopped")
    network = replace(network, instances=(network.instances[0], stopped))

    assert {r.reasons for r in traffic_matrix(network)} == {("instance i-0wavelength is stopped",)}


def test_without_a_bastion_the_regional_rows_say_there_is_no_regional_subnet():
    rows = traffic_matrix(seed_network(bastion=False))

    assert row(rows, REGION_SUBNET, WL, "tcp").reasons == ("no regional subnet in the VPC",)
    assert allowed_protocols(rows)[(WL, INTERNET)] == {"tcp", "icmp"}


def test_without_a_carrier_gateway_yet_the_outside_rows_say_so():
    network = replace(seed_network(), carrier_gateway=None, carrier_ips=())
    network = replace(network, instances=(network.instances[0], replace(network.instances[1], carrier_ip="")))

    reasons = row(traffic_matrix(network), WL, CARRIER_METRO, "tcp").reasons

    assert reasons == (
        "no carrier gateway yet",
        "no Carrier IP associated with the instance (the carrier gateway translates only to Carrier IPs)",
    )


def test_security_groups_not_described_yet_are_said_so():
    network = replace(seed_network(), security_groups=())

    assert row(traffic_matrix(network), REGION_SUBNET, WL, "tcp").reasons == (
        "no security group of instance i-0bastion described yet",
        "no security group of instance i-0wavelength described yet",
    )


# --- (j) from what AWS described --------------------------------------------------------------------


def described_seed(*, pending: tuple[str, ...] = ()) -> tuple[dict, list[dict]]:
    """The zone row and the resources as the engine stores them: raw boto3 Describe* items."""
    zone = {
        "name": SFO.name,
        "region": "us-west-2",
        "group_name": "us-west-2-wl1",
        "parent_zone_name": "us-west-2a",
        "carrier": "Verizon",
        "metro": "San Francisco Bay Area",
        "zone_type": "wavelength-zone",
    }
    tags = [{"Key": "wlpanel:environment", "Value": "7"}]
    all_out = [
        {
            "IpProtocol": "-1",
            "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            "Ipv6Ranges": [],
            "PrefixListIds": [],
            "UserIdGroupPairs": [],
        }
    ]
    from_vpc = {
        "IpProtocol": "-1",
        "IpRanges": [{"CidrIp": VPC_CIDR}],
        "Ipv6Ranges": [],
        "PrefixListIds": [],
        "UserIdGroupPairs": [],
    }
    acl_entries = [
        {
            "CidrBlock": "0.0.0.0/0",
            "Egress": egress,
            "Protocol": "-1",
            "RuleAction": action,
            "RuleNumber": number,
        }
        for egress in (True, False)
        for number, action in ((100, "allow"), (32767, "deny"))
    ]
    items = {
        "vpc": ("vpc", "vpc-0seed", {
            "VpcId": "vpc-0seed", "CidrBlock": VPC_CIDR, "State": "available", "IsDefault": False, "Tags": tags,
            "NetworkAcls": [{
                "NetworkAclId": "acl-0default", "VpcId": "vpc-0seed", "IsDefault": True, "Entries": acl_entries,
                "Associations": [
                    {"NetworkAclAssociationId": "aclassoc-1", "NetworkAclId": "acl-0default", "SubnetId": "subnet-0public"},
                    {"NetworkAclAssociationId": "aclassoc-2", "NetworkAclId": "acl-0default", "SubnetId": "subnet-0wavelength"},
                ],
            }],
        }),
        "public_subnet": ("subnet", "subnet-0public", {
            "SubnetId": "subnet-0public", "VpcId": "vpc-0seed", "CidrBlock": PUBLIC_CIDR, "AvailabilityZone": "us-west-2a",
            "AvailabilityZoneId": "usw2-az1", "MapPublicIpOnLaunch": True, "State": "available", "Tags": tags,
        }),
        "wavelength_subnet": ("subnet", "subnet-0wavelength", {
            "SubnetId": "subnet-0wavelength", "VpcId": "vpc-0seed", "CidrBlock": WAVELENGTH_CIDR,
            "AvailabilityZone": SFO.name, "AvailabilityZoneId": "usw2-wl1-sfo-wlz1", "MapPublicIpOnLaunch": False,
            "State": "available",
        }),
        "internet_gateway": ("internet_gateway", "igw-0seed", {
            "InternetGatewayId": "igw-0seed", "Attachments": [{"VpcId": "vpc-0seed", "State": "available"}], "Tags": tags,
        }),
        "carrier_gateway": ("carrier_gateway", "cagw-0seed", {
            "CarrierGatewayId": "cagw-0seed", "VpcId": "vpc-0seed", "State": "available", "OwnerId": "123456789012",
        }),
        "public_route_table": ("route_table", "rtb-0public", {
            "RouteTableId": "rtb-0public", "VpcId": "vpc-0seed",
            "Routes": [
                {"DestinationCidrBlock": VPC_CIDR, "GatewayId": "local", "Origin": "CreateRouteTable", "State": "active"},
                {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-0seed", "Origin": "CreateRoute", "State": "active"},
            ],
            "Associations": [{"Main": False, "RouteTableAssociationId": "rtbassoc-1", "RouteTableId": "rtb-0public",
                              "SubnetId": "subnet-0public", "AssociationState": {"State": "associated"}}],
        }),
        "wavelength_route_table": ("route_table", "rtb-0wavelength", {
            "RouteTableId": "rtb-0wavelength", "VpcId": "vpc-0seed",
            "Routes": [
                {"DestinationCidrBlock": VPC_CIDR, "GatewayId": "local", "Origin": "CreateRouteTable", "State": "active"},
                {"DestinationCidrBlock": "0.0.0.0/0", "CarrierGatewayId": "cagw-0seed", "Origin": "CreateRoute", "State": "active"},
            ],
            "Associations": [{"Main": False, "RouteTableAssociationId": "rtbassoc-2", "RouteTableId": "rtb-0wavelength",
                              "SubnetId": "subnet-0wavelength", "AssociationState": {"State": "associated"}}],
        }),
        "bastion_sg": ("security_group", "sg-0bastion", {
            "GroupId": "sg-0bastion", "GroupName": "bastion_sg", "Description": "bastion", "VpcId": "vpc-0seed",
            "IpPermissions": [from_vpc], "IpPermissionsEgress": all_out,
        }),
        "wavelength_sg": ("security_group", "sg-0wavelength", {
            "GroupId": "sg-0wavelength", "GroupName": "wavelength_sg", "Description": "wavelength", "VpcId": "vpc-0seed",
            "IpPermissions": [from_vpc, *all_out], "IpPermissionsEgress": all_out,
        }),
        "bastion": ("instance", "i-0bastion", {
            "InstanceId": "i-0bastion", "SubnetId": "subnet-0public", "PrivateIpAddress": "10.0.1.204",
            "PublicIpAddress": "198.51.100.7", "State": {"Code": 16, "Name": "running"},
            "SecurityGroups": [{"GroupId": "sg-0bastion", "GroupName": "bastion_sg"}],
            "NetworkInterfaces": [{"NetworkInterfaceId": "eni-0bastion", "Association": {"PublicIp": "198.51.100.7"}}],
        }),
        "wavelength_instance": ("instance", "i-0wavelength", {
            "InstanceId": "i-0wavelength", "SubnetId": "subnet-0wavelength", "PrivateIpAddress": "10.0.0.111",
            "State": {"Code": 16, "Name": "running"},
            "SecurityGroups": [{"GroupId": "sg-0wavelength", "GroupName": "wavelength_sg"}],
            "NetworkInterfaces": [{"NetworkInterfaceId": "eni-0wavelength",
                                   "Association": {"CarrierIp": CARRIER_IP, "IpOwnerId": "amazon"}}],
        }),
        "carrier_ip": ("carrier_ip", "eipalloc-0seed", {
            "AllocationId": "eipalloc-0seed", "CarrierIp": CARRIER_IP, "NetworkBorderGroup": SFO.name, "Domain": "vpc",
            "AssociationId": "eipassoc-0seed", "NetworkInterfaceId": "eni-0wavelength", "InstanceId": "i-0wavelength",
        }),
    }  # fmt: skip
    resources = [
        {
            "key": key,
            "kind": kind,
            "aws_id": "" if key in pending else aws_id,
            "described": None if key in pending else item,
        }
        for key, (kind, aws_id, item) in items.items()
    ]
    return zone, resources


def test_described_resources_give_the_same_network_and_matrix_as_the_builder():
    network = network_from_described(*described_seed())

    expected = seed_network(acls=(DEFAULT_ACL,))
    assert network == expected
    assert traffic_matrix(network) == traffic_matrix(expected)
    assert allowed_protocols(traffic_matrix(network)) == allowed_protocols(traffic_matrix(seed_network()))


def test_resources_not_described_yet_are_absent_and_pending():
    network = network_from_described(*described_seed(pending=("wavelength_instance", "carrier_ip")))

    assert network.wavelength_instance is None
    assert network.pending == {"wavelength_instance", "carrier_ip"}
    assert {r.reasons for r in traffic_matrix(network)} == {("no Wavelength instance yet",)}


def test_the_wavelength_subnet_is_known_by_its_zone_not_its_key():
    zone, resources = described_seed()
    for resource in resources:  # swap the keys of the two subnets
        resource["key"] = {"public_subnet": "wavelength_subnet", "wavelength_subnet": "public_subnet"}.get(
            resource["key"], resource["key"]
        )

    network = network_from_described(zone, resources)

    assert network.wavelength_subnet.subnet_id == "subnet-0wavelength"
    assert network.wavelength_instance.instance_id == "i-0wavelength"


def test_described_acl_and_security_group_protocols_and_ports_are_read():
    zone, resources = described_seed()
    vpc = next(r for r in resources if r["key"] == "vpc")["described"]
    vpc["NetworkAcls"][0]["Entries"].insert(0, {
        "CidrBlock": "0.0.0.0/0", "Egress": False, "Protocol": "17", "RuleAction": "deny", "RuleNumber": 90,
        "PortRange": {"From": 53, "To": 53},
    })  # fmt: skip
    wavelength_sg = next(r for r in resources if r["key"] == "wavelength_sg")["described"]
    wavelength_sg["IpPermissions"] = [
        {
            "IpProtocol": "tcp",
            "FromPort": 22,
            "ToPort": 22,
            "IpRanges": [],
            "UserIdGroupPairs": [{"GroupId": "sg-0bastion"}],
        },
        {
            "IpProtocol": "udp",
            "FromPort": 1000,
            "ToPort": 2000,
            "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "game"}],
        },
        {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
    ]

    network = network_from_described(zone, resources)

    assert network.network_acls[0].entries[0] == AclEntry(
        90, "udp", False, False, "0.0.0.0/0", PortSet.of((53, 53))
    )
    assert network.security_groups[1].ingress == (
        Rule("tcp", PortSet.of((22, 22)), group_id="sg-0bastion"),
        Rule("udp", PortSet.of((1000, 2000)), cidr="0.0.0.0/0", description="game"),
        Rule("icmp", cidr="0.0.0.0/0"),
    )
    rows = traffic_matrix(network)
    assert row(rows, REGION_SUBNET, WL, "tcp").ports == ("22",)
    assert row(rows, CARRIER_METRO, WL, "udp").ports == ("1000-2000",)
    assert row(rows, INTERNET, WL, "icmp").allowed


def test_an_empty_zone_carrier_and_metro_are_left_out_of_the_reason():
    zone, resources = described_seed()
    zone = {**zone, "carrier": "", "metro": None}

    reasons = row(traffic_matrix(network_from_described(zone, resources)), CARRIER_METRO, WL, "tcp").reasons

    assert "carrier gateway: all protocols with the carrier network are allowed" in reasons


def test_groups_listed_only_on_the_interfaces_still_belong_to_the_instance():
    # An instance launched with NetworkInterfaces (the bastion) may list its groups only there.
    zone, resources = described_seed()
    bastion = next(resource["described"] for resource in resources if resource["key"] == "bastion")
    bastion["NetworkInterfaces"][0]["Groups"] = bastion.pop("SecurityGroups")

    network = network_from_described(zone, resources)

    assert network.bastion.security_group_ids == ("sg-0bastion",)
    assert traffic_matrix(network) == traffic_matrix(network_from_described(*described_seed()))
