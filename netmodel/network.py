"""An environment's network as plain, frozen data, read from what AWS last described.

The provisioning engine keeps, per resource, the raw Describe* item boto3 returned. This module
turns those items into small frozen dataclasses that the traffic matrix (`traffic.py`) and the
diagram (`topology.py`) read. No Django, no boto3: plain data in, plain data out.

Only IPv4 is modelled: Wavelength subnets cannot have IPv6 and the carrier gateway is IPv4 only.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field
from ipaddress import IPv4Network

# --- Ports -----------------------------------------------------------------------------------------

MAX_PORT = 65535


@dataclass(frozen=True)
class PortSet:
    """A set of ports kept as sorted, merged, inclusive ranges: ((22, 22), (1000, 2000))."""

    ranges: tuple[tuple[int, int], ...] = ()

    @classmethod
    def of(cls, *ranges: tuple[int, int]) -> PortSet:
        merged: list[tuple[int, int]] = []
        for low, high in sorted(ranges):
            if merged and low <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(high, merged[-1][1]))
            else:
                merged.append((low, high))
        return cls(tuple(merged))

    @classmethod
    def between(cls, low: int | None, high: int | None) -> PortSet:
        """The ports of an AWS FromPort/ToPort pair; missing or -1 means all ports."""
        if low is None or high is None or low < 0 or high < 0:
            return ALL_PORTS
        return cls.of((low, high))

    def __or__(self, other: PortSet) -> PortSet:
        return PortSet.of(*self.ranges, *other.ranges)

    def __and__(self, other: PortSet) -> PortSet:
        overlaps = [
            (max(a_low, b_low), min(a_high, b_high))
            for a_low, a_high in self.ranges
            for b_low, b_high in other.ranges
            if max(a_low, b_low) <= min(a_high, b_high)
        ]
        return PortSet.of(*overlaps)

    def __sub__(self, other: PortSet) -> PortSet:
        return self & other.complement()

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def complement(self) -> PortSet:
        gaps, start = [], 0
        for low, high in self.ranges:
            if low > start:
                gaps.append((start, low - 1))
            start = high + 1
        if start <= MAX_PORT:
            gaps.append((start, MAX_PORT))
        return PortSet(tuple(gaps))

    @property
    def is_all(self) -> bool:
        return self == ALL_PORTS

    def labels(self) -> list[str]:
        """["22", "80", "1000-2000"]: single ports alone, ranges with a dash."""
        return [str(low) if low == high else f"{low}-{high}" for low, high in self.ranges]

    def __str__(self) -> str:
        return "all ports" if self.is_all else ", ".join(self.labels())


ALL_PORTS = PortSet(((0, MAX_PORT),))
NO_PORTS = PortSet()
# Clients answer on ephemeral ports; AWS's network ACL guide recommends opening 1024-65535.
EPHEMERAL_PORTS = PortSet(((1024, MAX_PORT),))

# --- Addresses -------------------------------------------------------------------------------------

ANYWHERE = ipaddress.ip_network("0.0.0.0/0")
# Carrier and internet traffic comes from public addresses, never from these (RFC 1918).
PRIVATE_RANGES = tuple(ipaddress.ip_network(c) for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


@functools.lru_cache(maxsize=1024)
def parse_cidr(text: str) -> IPv4Network:
    # Pure and called thousands of times per matrix: a handful of distinct CIDRs per environment.
    return ipaddress.ip_network(text, strict=False)


def covers_public_addresses(cidr: IPv4Network) -> bool:
    """True when some public address falls in `cidr` (it is not inside a private range)."""
    return not any(cidr.subnet_of(private) for private in PRIVATE_RANGES)


# --- The network ---------------------------------------------------------------------------------

# AWS spells protocols as names ("tcp") in security groups and as numbers ("6") in network ACLs.
PROTOCOL_NAMES = {
    "-1": "all",
    "all": "all",
    "6": "tcp",
    "tcp": "tcp",
    "17": "udp",
    "udp": "udp",
    "1": "icmp",
    "icmp": "icmp",
}

# Wavelength Zone names read <region>-wl1-<metro>-wlz-<n>; a subnet in such a zone that is not
# the environment's zone is in another Wavelength Zone.
WAVELENGTH_ZONE_MARK = "-wlz-"


def protocol_name(aws_protocol: str | int | None) -> str:
    """The protocol as tcp, udp, icmp or all; AWS's own value for protocols the matrix does not cover."""
    text = str(aws_protocol if aws_protocol is not None else "-1").lower()
    return PROTOCOL_NAMES.get(text, text)


def protocol_text(protocol: str, ports: PortSet) -> str:
    """The protocol and ports as a reason reads them: all protocols, udp, tcp 22, 80."""
    if protocol == "all":
        return "all protocols"
    return f"{protocol} {ports}" if protocol in ("tcp", "udp") and not ports.is_all else protocol


@dataclass(frozen=True)
class Zone:
    name: str
    region: str
    group_name: str = ""
    parent_zone_name: str = ""
    carrier: str = ""
    metro: str = ""
    zone_type: str = "wavelength-zone"


@dataclass(frozen=True)
class Vpc:
    vpc_id: str
    cidr: str


@dataclass(frozen=True)
class Subnet:
    subnet_id: str
    cidr: str
    availability_zone: str
    map_public_ip: bool = False


@dataclass(frozen=True)
class Route:
    destination: str
    target: str  # "local", "igw-…", "cagw-…", or another gateway's id
    state: str = "active"  # "blackhole" once the target is gone


@dataclass(frozen=True)
class RouteTable:
    route_table_id: str
    routes: tuple[Route, ...] = ()
    subnet_ids: tuple[str, ...] = ()
    main: bool = False


@dataclass(frozen=True)
class Rule:
    """One security group permission for one source (ingress) or destination (egress)."""

    protocol: str  # "all", "tcp", "udp", "icmp" (or AWS's number for anything else)
    ports: PortSet = ALL_PORTS
    cidr: str | None = None
    group_id: str | None = None
    description: str = ""

    def text(self, preposition: str) -> str:
        """The rule as a reason reads it: tcp 22 from 10.0.1.0/24, all protocols to 0.0.0.0/0."""
        return f"{protocol_text(self.protocol, self.ports)} {preposition} {self.cidr or self.group_id}"


@dataclass(frozen=True)
class SecurityGroup:
    group_id: str
    name: str = ""
    ingress: tuple[Rule, ...] = ()
    egress: tuple[Rule, ...] = (Rule("all", cidr="0.0.0.0/0"),)  # AWS's default egress

    @property
    def title(self) -> str:
        return (
            f"security group {self.group_id} ({self.name})"
            if self.name
            else f"security group {self.group_id}"
        )


@dataclass(frozen=True)
class AclEntry:
    rule_number: int
    protocol: str
    allow: bool
    egress: bool
    cidr: str
    ports: PortSet = ALL_PORTS

    @property
    def number_label(self) -> str:
        return "*" if self.rule_number == 32767 else str(self.rule_number)  # 32767 is the console's "*"


@dataclass(frozen=True)
class NetworkAcl:
    acl_id: str
    entries: tuple[AclEntry, ...] = ()
    subnet_ids: tuple[str, ...] = ()
    is_default: bool = False


@dataclass(frozen=True)
class Instance:
    instance_id: str
    subnet_id: str
    private_ip: str = ""
    public_ip: str = ""
    state: str = "running"
    security_group_ids: tuple[str, ...] = ()
    network_interface_ids: tuple[str, ...] = ()
    carrier_ip: str = ""  # as the instance's network interface reports it


@dataclass(frozen=True)
class CarrierIp:
    allocation_id: str
    carrier_ip: str
    network_border_group: str = ""
    association_id: str = ""
    network_interface_id: str = ""
    instance_id: str = ""


@dataclass(frozen=True)
class Gateway:
    """An internet or carrier gateway; `state` is "available" when attached and usable."""

    gateway_id: str
    state: str = "available"


@dataclass(frozen=True)
class Network:
    """One environment's network. Empty fields are resources AWS has not described (yet).

    `pending` holds the plan keys of resources the environment will have but that are not
    described yet, so a diagram can show them as pending rather than leave them out.
    """

    zone: Zone
    vpc: Vpc | None = None
    subnets: tuple[Subnet, ...] = ()
    route_tables: tuple[RouteTable, ...] = ()
    security_groups: tuple[SecurityGroup, ...] = ()
    network_acls: tuple[NetworkAcl, ...] = ()  # none: every subnet has the VPC's default (allow all)
    instances: tuple[Instance, ...] = ()
    internet_gateway: Gateway | None = None
    carrier_gateway: Gateway | None = None
    carrier_ips: tuple[CarrierIp, ...] = ()
    pending: frozenset[str] = field(default_factory=frozenset)

    @property
    def wavelength_subnet(self) -> Subnet | None:
        return next((s for s in self.subnets if s.availability_zone == self.zone.name), None)

    @property
    def other_zone_subnets(self) -> tuple[Subnet, ...]:
        """Subnets in another Wavelength Zone, which the environment's zone cannot reach."""
        return tuple(
            s
            for s in self.subnets
            if s.availability_zone != self.zone.name and WAVELENGTH_ZONE_MARK in s.availability_zone
        )

    @property
    def regional_subnet(self) -> Subnet | None:
        """The VPC's subnet on the region's side: the one with an instance (the bastion) if any."""
        regional = [s for s in self.subnets if WAVELENGTH_ZONE_MARK not in s.availability_zone]
        return next((s for s in regional if self.instances_in(s)), regional[0] if regional else None)

    @property
    def wavelength_instance(self) -> Instance | None:
        return self.first_instance_in(self.wavelength_subnet)

    @property
    def bastion(self) -> Instance | None:
        return self.first_instance_in(self.regional_subnet)

    def instances_in(self, subnet: Subnet) -> tuple[Instance, ...]:
        return tuple(i for i in self.instances if i.subnet_id == subnet.subnet_id)

    def first_instance_in(self, subnet: Subnet | None) -> Instance | None:
        return next(iter(self.instances_in(subnet)), None) if subnet else None

    def route_table_for(self, subnet: Subnet) -> RouteTable | None:
        """The table associated with the subnet, else the VPC's main table (as AWS routes)."""
        associated = next((t for t in self.route_tables if subnet.subnet_id in t.subnet_ids), None)
        return associated or next((t for t in self.route_tables if t.main), None)

    def network_acl_for(self, subnet: Subnet) -> NetworkAcl | None:
        """The subnet's ACL, else the VPC's default; None when no ACL was described (allow all)."""
        associated = next((a for a in self.network_acls if subnet.subnet_id in a.subnet_ids), None)
        return associated or next((a for a in self.network_acls if a.is_default), None)

    def security_groups_of(self, instance: Instance) -> tuple[SecurityGroup, ...]:
        return tuple(g for g in self.security_groups if g.group_id in instance.security_group_ids)

    def carrier_ip_of(self, instance: Instance) -> str:
        """The Carrier IP associated with the instance (by its interface or the address), or ""."""
        associated = (
            address.carrier_ip
            for address in self.carrier_ips
            if address.association_id
            and (
                address.instance_id == instance.instance_id
                or address.network_interface_id in instance.network_interface_ids
            )
        )
        return instance.carrier_ip or next(associated, "")


# --- From AWS's Describe* items ---------------------------------------------------------------------


def network_from_described(zone: dict, resources: list[dict]) -> Network:
    """Build the Network from the zone row and the resources as last described from AWS.

    `zone` carries name, region, group_name, parent_zone_name, carrier, metro, zone_type.
    Each resource is {"key", "kind", "aws_id", "described"}; `described` is one boto3 Describe*
    item (a VPC also carries "NetworkAcls", its DescribeNetworkAcls items), or None when the
    resource does not exist yet. Roles come from the AWS data (a subnet is the Wavelength one
    because its AvailabilityZone is the zone), never from the keys.
    """
    described = [r for r in resources if r.get("described")]
    by_kind: dict[str, list[dict]] = {}
    for resource in described:
        by_kind.setdefault(resource["kind"], []).append(resource["described"])
    vpc_item = next(iter(by_kind.get("vpc", [])), None)
    igw_item = next(iter(by_kind.get("internet_gateway", [])), None)
    cagw_item = next(iter(by_kind.get("carrier_gateway", [])), None)
    return Network(
        zone=Zone(
            name=zone["name"],
            region=zone["region"],
            group_name=zone.get("group_name") or "",
            parent_zone_name=zone.get("parent_zone_name") or "",
            carrier=zone.get("carrier") or "",
            metro=zone.get("metro") or "",
            zone_type=zone.get("zone_type") or "wavelength-zone",
        ),
        vpc=Vpc(vpc_item["VpcId"], vpc_item.get("CidrBlock", "")) if vpc_item else None,
        subnets=tuple(_subnet(item) for item in by_kind.get("subnet", [])),
        route_tables=tuple(_route_table(item) for item in by_kind.get("route_table", [])),
        security_groups=tuple(_security_group(item) for item in by_kind.get("security_group", [])),
        network_acls=tuple(_network_acl(item) for item in (vpc_item or {}).get("NetworkAcls", [])),
        instances=tuple(_instance(item) for item in by_kind.get("instance", [])),
        internet_gateway=_internet_gateway(igw_item) if igw_item else None,
        carrier_gateway=Gateway(cagw_item["CarrierGatewayId"], cagw_item.get("State", "available"))
        if cagw_item
        else None,
        carrier_ips=tuple(_carrier_ip(item) for item in by_kind.get("carrier_ip", [])),
        pending=frozenset(r["key"] for r in resources if not r.get("described")),
    )


def _subnet(item: dict) -> Subnet:
    return Subnet(
        item["SubnetId"],
        item.get("CidrBlock", ""),
        item.get("AvailabilityZone", ""),
        bool(item.get("MapPublicIpOnLaunch")),
    )


def _route_table(item: dict) -> RouteTable:
    routes = tuple(
        Route(route["DestinationCidrBlock"], _route_target(route), route.get("State", "active"))
        for route in item.get("Routes", [])
        if route.get("DestinationCidrBlock")  # IPv6 and prefix-list routes are out of scope
    )
    associations = item.get("Associations", [])
    return RouteTable(
        item["RouteTableId"],
        routes,
        subnet_ids=tuple(a["SubnetId"] for a in associations if a.get("SubnetId")),
        main=any(a.get("Main") for a in associations),
    )


def _route_target(route: dict) -> str:
    targets = (
        "GatewayId",
        "CarrierGatewayId",
        "NatGatewayId",
        "TransitGatewayId",
        "VpcPeeringConnectionId",
        "NetworkInterfaceId",
        "InstanceId",
        "LocalGatewayId",
    )
    return next((route[name] for name in targets if route.get(name)), "")


def _security_group(item: dict) -> SecurityGroup:
    return SecurityGroup(
        item["GroupId"],
        item.get("GroupName", ""),
        ingress=_rules(item.get("IpPermissions", [])),
        egress=_rules(item.get("IpPermissionsEgress", [])),
    )


def _rules(permissions: list[dict]) -> tuple[Rule, ...]:
    """One Rule per (permission, source): IPv4 ranges and referenced groups."""
    rules = []
    for permission in permissions:
        protocol = protocol_name(permission.get("IpProtocol"))
        ports = _ports(protocol, permission.get("FromPort"), permission.get("ToPort"))
        for ip_range in permission.get("IpRanges", []):
            rules.append(
                Rule(protocol, ports, cidr=ip_range["CidrIp"], description=ip_range.get("Description", ""))
            )
        for pair in permission.get("UserIdGroupPairs", []):
            rules.append(
                Rule(protocol, ports, group_id=pair["GroupId"], description=pair.get("Description", ""))
            )
    return tuple(rules)


def _ports(protocol: str, low: int | None, high: int | None) -> PortSet:
    # For ICMP, AWS puts the ICMP type and code in FromPort/ToPort: not ports.
    return PortSet.between(low, high) if protocol in ("tcp", "udp") else ALL_PORTS


def _network_acl(item: dict) -> NetworkAcl:
    entries = tuple(
        AclEntry(
            rule_number=entry["RuleNumber"],
            protocol=protocol_name(entry.get("Protocol")),
            allow=entry.get("RuleAction") == "allow",
            egress=bool(entry.get("Egress")),
            cidr=entry["CidrBlock"],
            ports=_ports(protocol_name(entry.get("Protocol")), *_port_range(entry.get("PortRange"))),
        )
        for entry in item.get("Entries", [])
        if entry.get("CidrBlock")  # IPv6 entries are out of scope
    )
    subnet_ids = tuple(a["SubnetId"] for a in item.get("Associations", []) if a.get("SubnetId"))
    return NetworkAcl(item["NetworkAclId"], entries, subnet_ids, bool(item.get("IsDefault")))


def _port_range(port_range: dict | None) -> tuple[int | None, int | None]:
    return (port_range.get("From"), port_range.get("To")) if port_range else (None, None)


def _instance(item: dict) -> Instance:
    interfaces = item.get("NetworkInterfaces", [])
    return Instance(
        item["InstanceId"],
        item.get("SubnetId", ""),
        private_ip=item.get("PrivateIpAddress", ""),
        public_ip=item.get("PublicIpAddress", ""),
        state=item.get("State", {}).get("Name", ""),
        # Launched with NetworkInterfaces, an instance's groups may be listed on its interfaces only.
        security_group_ids=tuple(
            dict.fromkeys(
                [g["GroupId"] for g in item.get("SecurityGroups", [])]
                + [g["GroupId"] for i in interfaces for g in i.get("Groups", [])]
            )
        ),
        network_interface_ids=tuple(
            i["NetworkInterfaceId"] for i in interfaces if i.get("NetworkInterfaceId")
        ),
        carrier_ip=next(
            (i["Association"]["CarrierIp"] for i in interfaces if i.get("Association", {}).get("CarrierIp")),
            "",
        ),
    )


def _internet_gateway(item: dict) -> Gateway:
    attached = any(a.get("State") in ("available", "attached") for a in item.get("Attachments", []))
    return Gateway(item["InternetGatewayId"], "available" if attached else "detached")


def _carrier_ip(item: dict) -> CarrierIp:
    return CarrierIp(
        item.get("AllocationId", ""),
        item.get("CarrierIp", ""),
        network_border_group=item.get("NetworkBorderGroup", ""),
        association_id=item.get("AssociationId", ""),
        network_interface_id=item.get("NetworkInterfaceId", ""),
        instance_id=item.get("InstanceId", ""),
    )
