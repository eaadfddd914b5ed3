"""The allowed-traffic matrix of a Wavelength environment.

A row says whether some traffic of one protocol gets from one endpoint to another, on which
ports, and which rules decided it. It is the intersection of the carrier gateway's fixed
controls, the routes, the Carrier IP, the security groups (stateful) and the network ACLs
(stateless), computed from the environment as last described from AWS: pure, no AWS calls.

A rule "applies" to an endpoint when its CIDR covers some of the endpoint's addresses (a
public endpoint: a CIDR outside the private ranges, such as 0.0.0.0/0). An ACL deny stops an
endpoint only when it covers all of it: the matrix answers "does some traffic get through".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .network import (
    ALL_PORTS,
    ANYWHERE,
    EPHEMERAL_PORTS,
    NO_PORTS,
    Instance,
    Network,
    NetworkAcl,
    PortSet,
    Subnet,
    covers_public_addresses,
    parse_cidr,
    protocol_text,
)

REGION_SUBNET = "region-subnet"
WAVELENGTH_INSTANCE = "wavelength-instance"
CARRIER_METRO = "carrier-metro"
CARRIER_OTHER = "carrier-other"
INTERNET = "internet"
OTHER_WAVELENGTH_ZONE = "other-wavelength-zone"

PROTOCOLS = ("tcp", "udp", "icmp")
OUTSIDE_ENDPOINTS = (CARRIER_METRO, CARRIER_OTHER, INTERNET)

# The Casablanca zones (parent region eu-west-3) let TCP and UDP in from the internet
# (AWS "Quotas and considerations for Wavelength Zones").
CASABLANCA_REGION = "eu-west-3"
CARRIER_REACH_DOC = (
    "carrier network: other metro areas and other carriers cannot reach the zone (AWS documentation "
    'quoted by the seed; current documentation: inbound routing is "optimized for devices in the '
    'location of the Wavelength Zone")'
)
RUNNING_STATES = ("pending", "running")

__all__ = [
    "CARRIER_METRO",
    "CARRIER_OTHER",
    "INTERNET",
    "OTHER_WAVELENGTH_ZONE",
    "PROTOCOLS",
    "REGION_SUBNET",
    "WAVELENGTH_INSTANCE",
    "TrafficRow",
    "matrix_as_dicts",
    "traffic_matrix",
]


@dataclass(frozen=True)
class TrafficRow:
    """One cell of the matrix. `ports` is None for all ports (and always for ICMP)."""

    source: str
    destination: str
    protocol: str
    allowed: bool
    ports: tuple[str, ...] | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    """What one control lets through (ports), and the rules that say so."""

    ports: PortSet
    reasons: tuple[str, ...]


def allow(*reasons: str, ports: PortSet = ALL_PORTS) -> Decision:
    return Decision(ports, reasons)


def deny(*reasons: str) -> Decision:
    return Decision(NO_PORTS, reasons)


@dataclass(frozen=True)
class Side:
    """One end of a flow: its subnet and instance inside the VPC (none outside), and its addresses."""

    label: str  # "the regional subnet 10.0.1.0/24", "public addresses"
    cidrs: tuple[str, ...] = ()  # empty: public addresses
    group_ids: tuple[str, ...] = ()
    subnet: Subnet | None = None
    subnet_name: str = ""
    instance: Instance | None = None

    @property
    def public(self) -> bool:
        return not self.cidrs


PUBLIC = Side("public addresses")


def traffic_matrix(network: Network) -> list[TrafficRow]:
    """Every (source, destination, protocol) row for the flows that involve the Wavelength instance.

    Pairs: region-subnet, carrier-metro, carrier-other and internet, each to and from the
    Wavelength instance; plus other-wavelength-zone both ways when the VPC has a subnet in
    another Wavelength Zone. Protocols tcp, udp, icmp, in that order.
    """
    pairs = [(REGION_SUBNET, WAVELENGTH_INSTANCE), (WAVELENGTH_INSTANCE, REGION_SUBNET)]
    for outside in OUTSIDE_ENDPOINTS:
        pairs += [(outside, WAVELENGTH_INSTANCE), (WAVELENGTH_INSTANCE, outside)]
    if network.other_zone_subnets:
        pairs += [(OTHER_WAVELENGTH_ZONE, WAVELENGTH_INSTANCE), (WAVELENGTH_INSTANCE, OTHER_WAVELENGTH_ZONE)]
    return [
        _row(network, source, destination, protocol)
        for source, destination in pairs
        for protocol in PROTOCOLS
    ]


def matrix_as_dicts(rows: list[TrafficRow]) -> list[dict]:
    """The rows as the API's JSON items: source, destination, protocol, allowed, ports, reasons."""
    return [
        {
            "source": row.source,
            "destination": row.destination,
            "protocol": row.protocol,
            "allowed": row.allowed,
            "ports": list(row.ports) if row.ports is not None else None,
            "reasons": list(row.reasons),
        }
        for row in rows
    ]


def _row(network: Network, source: str, destination: str, protocol: str) -> TrafficRow:
    missing = _missing_piece(network, source, destination)
    if missing:
        return TrafficRow(source, destination, protocol, False, None, (missing,))
    decisions = list(_decisions(network, source, destination, protocol))
    ports = ALL_PORTS
    for decision in decisions:
        ports &= decision.ports
    if ports:
        shown = None if protocol == "icmp" or ports.is_all else tuple(ports.labels())
        return TrafficRow(source, destination, protocol, True, shown, _unique(decisions))
    # Name the controls that stop it on their own; if none does, no port passes all of them.
    stoppers = [d for d in decisions if not d.ports] or decisions
    return TrafficRow(source, destination, protocol, False, None, _unique(stoppers))


def _unique(decisions: list[Decision]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(reason for decision in decisions for reason in decision.reasons))


def _missing_piece(network: Network, source: str, destination: str) -> str:
    """Why nothing can flow at all yet (a partial build), or ""."""
    instance = network.wavelength_instance
    if network.vpc is None:
        return "no VPC yet"
    if network.wavelength_subnet is None:
        return "no Wavelength subnet yet"
    if instance is None:
        return "no Wavelength instance yet"
    if instance.state not in RUNNING_STATES:
        return f"instance {instance.instance_id} is {instance.state or 'in an unknown state'}"
    if REGION_SUBNET in (source, destination) and network.regional_subnet is None:
        return "no regional subnet in the VPC"
    return ""


def _decisions(network: Network, source: str, destination: str, protocol: str) -> Iterator[Decision]:
    outbound = source == WAVELENGTH_INSTANCE
    other = destination if outbound else source
    if other == OTHER_WAVELENGTH_ZONE:
        yield _other_zone_decision(network)
        return
    wavelength = _wavelength_side(network)
    if other == REGION_SUBNET:
        other_side = _regional_side(network)
        yield allow(f"local route: traffic inside the VPC {network.vpc.cidr}")
    else:
        other_side = PUBLIC
        yield from _carrier_gateway_path(network, wavelength.instance)
        yield _carrier_gateway_controls(network, other, protocol, outbound)
    if outbound:
        yield from _filters(network, wavelength, other_side, protocol)
    else:
        yield from _filters(network, other_side, wavelength, protocol)


def _wavelength_side(network: Network) -> Side:
    instance = network.wavelength_instance
    subnet = network.wavelength_subnet
    return Side(
        f"the Wavelength instance {instance.private_ip or subnet.cidr}",
        cidrs=(instance.private_ip or subnet.cidr,),
        group_ids=instance.security_group_ids,
        subnet=subnet,
        subnet_name="Wavelength subnet",
        instance=instance,
    )


def _regional_side(network: Network) -> Side:
    subnet = network.regional_subnet
    instances = network.instances_in(subnet)
    return Side(
        f"the regional subnet {subnet.cidr}",
        cidrs=(subnet.cidr,),
        group_ids=tuple(group for instance in instances for group in instance.security_group_ids),
        subnet=subnet,
        subnet_name="regional subnet",
        instance=network.bastion,
    )


# --- Path to the outside: carrier gateway, route, Carrier IP ----------------------------------------


def _carrier_gateway_path(network: Network, instance: Instance) -> Iterator[Decision]:
    gateway = network.carrier_gateway
    if gateway is None:
        yield deny("no carrier gateway yet")
    elif gateway.state != "available":
        yield deny(f"carrier gateway {gateway.gateway_id} is {gateway.state}")
    yield _carrier_route(network, gateway.gateway_id if gateway else "")
    carrier_ip = network.carrier_ip_of(instance)
    if carrier_ip:
        yield allow(f"Carrier IP {carrier_ip} associated with the instance")
    else:
        yield deny(
            "no Carrier IP associated with the instance (the carrier gateway translates only to Carrier IPs)"
        )


def _carrier_route(network: Network, gateway_id: str) -> Decision:
    table = network.route_table_for(network.wavelength_subnet)
    if table is None:
        return deny("no route table for the Wavelength subnet yet: no 0.0.0.0/0 route to a carrier gateway")
    name = f"route table {table.route_table_id}" + (
        "" if network.wavelength_subnet.subnet_id in table.subnet_ids else " (main)"
    )
    default = next((r for r in table.routes if r.destination == "0.0.0.0/0"), None)
    if default is None or not default.target.startswith("cagw-"):
        return deny(f"{name}: no 0.0.0.0/0 route to the carrier gateway")
    if default.state != "active" or (gateway_id and default.target != gateway_id):
        return deny(f"{name}: 0.0.0.0/0 → carrier gateway {default.target} is a blackhole")
    return allow(f"{name}: 0.0.0.0/0 → carrier gateway {default.target}")


def _carrier_gateway_controls(network: Network, other: str, protocol: str, outbound: bool) -> Decision:
    """The carrier gateway's fixed controls, which no setting removes."""
    zone = network.zone
    if other == CARRIER_METRO:
        where = ", ".join(part for part in (zone.carrier, zone.metro) if part)
        return allow(
            f"carrier gateway: all protocols with the carrier network{f' ({where})' if where else ''} are allowed"
        )
    if other == CARRIER_OTHER and not outbound:
        return deny(
            CARRIER_REACH_DOC,
            "their traffic can arrive only over the internet, as in the internet rows",
        )
    prefix = "carrier gateway: "
    if other == CARRIER_OTHER:
        prefix += "devices of other metro areas or carriers are reached as internet hosts; "
    if protocol == "icmp":
        return allow(prefix + "ICMP with the internet is allowed")
    if zone.region == CASABLANCA_REGION:
        return allow(
            prefix
            + f"{protocol.upper()} with the internet is allowed in the Casablanca zones (parent {CASABLANCA_REGION})"
        )
    if protocol == "udp":
        return deny(prefix + "UDP with the internet is denied")
    if outbound:
        return allow(prefix + "outbound TCP to the internet and its responses are allowed")
    return deny(prefix + "TCP from the internet is not allowed (outbound TCP and its responses only)")


def _other_zone_decision(network: Network) -> Decision:
    zones = ", ".join(sorted({s.availability_zone for s in network.other_zone_subnets}))
    return deny(
        f"instances in two different Wavelength Zones in one VPC cannot reach each other (other zone: {zones}); "
        "AWS suggests one VPC per zone, joined by a Transit Gateway"
    )


# --- Filters: security groups (stateful) and network ACLs (stateless) -------------------------------


def _filters(network: Network, source: Side, destination: Side, protocol: str) -> Iterator[Decision]:
    if source.instance:
        yield _security_group_decision(network, source.instance, destination, protocol, egress=True)
    if source.subnet:
        yield _acl_decision(network, source, destination, protocol, egress=True)
    if destination.subnet:
        yield _acl_decision(network, destination, source, protocol, egress=False)
    if destination.instance:
        yield _security_group_decision(network, destination.instance, source, protocol, egress=False)
    # ACLs are stateless: the responses must get back through both subnets' ACLs as well.
    if destination.subnet:
        yield _acl_decision(network, destination, source, protocol, egress=True, responses=True)
    if source.subnet:
        yield _acl_decision(network, source, destination, protocol, egress=False, responses=True)


def _applies(cidr: str, peer: Side, *, whole: bool = False) -> bool:
    """Whether a rule's CIDR covers some of the peer's addresses (all of them when `whole`)."""
    network = parse_cidr(cidr)
    if peer.public:
        return network == ANYWHERE if whole else covers_public_addresses(network)
    peers = [parse_cidr(c) for c in peer.cidrs]
    return all(network.supernet_of(p) for p in peers) if whole else any(network.overlaps(p) for p in peers)


def _security_group_decision(
    network: Network, instance: Instance, peer: Side, protocol: str, *, egress: bool
) -> Decision:
    groups = network.security_groups_of(instance)
    if not groups:
        return deny(f"no security group of instance {instance.instance_id} described yet")
    preposition, direction = ("to", "outbound") if egress else ("from", "inbound")
    opened, reasons, elsewhere = NO_PORTS, [], []
    for group in groups:
        for rule in group.egress if egress else group.ingress:
            if rule.protocol not in (protocol, "all"):
                continue
            if rule.group_id in peer.group_ids if rule.group_id else _applies(rule.cidr, peer):
                opened |= rule.ports
                reasons.append(f"{group.title} rule: {rule.text(preposition)}")
            else:
                elsewhere.append((group, rule))
    # Say why ports that a rule opens for others stay closed here (e.g. SSH from the bastion only).
    notes = [
        f"{group.title} rule {rule.text(preposition)} does not apply to {peer.label}"
        for group, rule in elsewhere
        if rule.ports - opened
    ]
    if not opened:
        titles = ", ".join(group.title for group in groups)
        return deny(f"{titles}: no {direction} rule allows {protocol} {preposition} {peer.label}", *notes)
    return allow(*reasons, *notes, ports=opened)


def _acl_decision(
    network: Network, side: Side, peer: Side, protocol: str, *, egress: bool, responses: bool = False
) -> Decision:
    acl = network.network_acl_for(side.subnet)
    if acl is None:
        return allow(
            f"network ACL of the {side.subnet_name}: none described; the VPC default allows all both ways"
        )
    # Responses go to the client's ephemeral ports; any of them open is enough for some clients.
    wanted = EPHEMERAL_PORTS if responses else ALL_PORTS
    allowed, reasons = _evaluate_acl(
        acl, side, peer, protocol, egress=egress, responses=responses, wanted=wanted
    )
    if responses:
        allowed = ALL_PORTS if allowed else NO_PORTS
    return Decision(allowed, reasons)


def _evaluate_acl(
    acl: NetworkAcl,
    side: Side,
    peer: Side,
    protocol: str,
    *,
    egress: bool,
    responses: bool,
    wanted: PortSet,
) -> tuple[PortSet, tuple[str, ...]]:
    """Walk the entries in rule-number order; the first entry that matches a port decides it."""
    direction, preposition = ("outbound", "to") if egress else ("inbound", "from")
    note = " (the responses; ACLs are stateless)" if responses else ""
    title = f"network ACL {acl.acl_id} ({side.subnet_name})"
    undecided, allowed = wanted, NO_PORTS
    allows, denies = [], []
    for entry in sorted((e for e in acl.entries if e.egress == egress), key=lambda e: e.rule_number):
        if entry.protocol not in (protocol, "all") or not _applies(entry.cidr, peer, whole=not entry.allow):
            continue
        decided = undecided & (ALL_PORTS if protocol == "icmp" else entry.ports)
        if not decided:
            continue
        undecided -= decided
        what = f"{direction} {protocol_text(entry.protocol, entry.ports)} {preposition} {entry.cidr}{note}"
        if entry.allow:
            allowed |= decided
            allows.append(f"{title} rule {entry.number_label} allows {what}")
        else:
            denies.append(f"{title} rule {entry.number_label} denies {what}")
    if allowed:
        return allowed, tuple(allows + denies)  # explicit denies that narrowed the ports, too
    if not denies:
        wanted_text = protocol_text(protocol, wanted if protocol != "icmp" else ALL_PORTS)
        denies.append(
            f"{title}: no rule allows {direction} {wanted_text} {preposition} {peer.label}{note}; rule * denies"
        )
    return NO_PORTS, tuple(denies)
