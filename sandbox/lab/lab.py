"""One environment's lab: network namespaces wired from what the sandbox holds about its VPC.

docs/lab.md draws it. In short: every instance is a namespace with its private address, its
security groups as nftables rules and listeners on the probed ports; the VPC router is two
namespaces, the Region's half (regional subnets, internet gateway side) and the zone's half
(Wavelength subnets, carrier gateway side), joined by the Region-zone link and holding each
subnet's route table (policy routing) and network ACL (stateless nftables rules); the internet
gateway does the 1:1 NAT of public IPs; the carrier gateway translates Carrier IPs and applies
its fixed traffic controls; outside, an internet host, a carrier device in the zone's metro and
a device on another carrier.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
import json
import logging
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from netmodel.network import ALL_PORTS, AclEntry, Instance, Network, PortSet, Rule, Subnet
from netmodel.probes import PROBE_SCRIPT, ProbePorts, ProbeRequest, probe_ports
from netmodel.traffic import CASABLANCA_REGION

from . import netns

log = logging.getLogger("sandbox.lab")

DATA_FILE = Path(__file__).resolve().parent / "data" / "links.json"
LISTENER_FILE = Path(__file__).resolve().parent / "listener.py"
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable

# The outside world of every lab (documentation and carrier-grade NAT ranges: never routed here).
INTERNET_HOST = "203.0.113.10"
CARRIER_METRO_NET = ipaddress.ip_network("100.64.10.0/24")
CARRIER_METRO_DEVICE = "100.64.10.10"
CARRIER_OTHER_NET = ipaddress.ip_network("100.100.20.0/24")
CARRIER_OTHER_DEVICE = "100.100.20.10"

# Router-to-router links: (namespace role, interface, address) on each end, /30s of 169.254.0.0/24.
TRANSIT = {
    "region_zone": (("r", "rz", "169.254.0.1"), ("z", "zr", "169.254.0.2")),
    "internet_gateway": (("r", "rg", "169.254.0.5"), ("g", "gr", "169.254.0.6")),
    "carrier_gateway": (("z", "zc", "169.254.0.9"), ("c", "cz", "169.254.0.10")),
    "internet": (("g", "gn", "169.254.0.13"), ("n", "ng", "169.254.0.14")),
    "carrier_internet": (("c", "cn", "169.254.0.17"), ("n", "nc", "169.254.0.18")),
}
OUTSIDE_ROLES = {"internet": "n", "carrier-metro": "m", "carrier-other": "o"}
LISTENER_READY_SECONDS = 10.0
FAULT_KINDS = ("drop-route", "break-security-rule", "blackhole-carrier-gateway")


@functools.cache
def link_data() -> dict:
    with DATA_FILE.open(encoding="utf-8") as handle:
        return json.load(handle)


def mtu(kind: str) -> int:
    return int(link_data()["mtu"][kind])


def fingerprint(network: Network) -> str:
    """What the lab is wired from; pending and running instances are wired alike."""
    data = asdict(network)
    for instance in data["instances"]:
        if instance["state"] == "pending":
            instance["state"] = "running"
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class Host:
    """A namespace that runs probes and listeners: an instance or a device outside."""

    key: str  # the instance id, or "internet", "carrier-metro", "carrier-other"
    namespace: str
    address: str
    role: str  # "instance" or the outside endpoint's name
    subnet_id: str = ""
    public_ip: str = ""
    carrier_ip: str = ""
    log_path: Path | None = None
    listener: subprocess.Popen | None = field(default=None, repr=False)

    def describe(self) -> dict:
        return {
            "key": self.key,
            "role": self.role,
            "namespace": self.namespace,
            "address": self.address,
            "subnet_id": self.subnet_id,
            "public_ip": self.public_ip,
            "carrier_ip": self.carrier_ip,
        }


@dataclass
class WiredSubnet:
    subnet: Subnet
    index: int
    router: str  # "r" or "z"

    @property
    def bridge(self) -> str:
        return f"b{self.index}"

    @property
    def table(self) -> int:
        return 100 + self.index

    @property
    def gateway(self) -> str:
        network = ipaddress.ip_network(self.subnet.cidr)
        return str(network.network_address + 1)


class Lab:
    """Build, probe, break and tear down one VPC's lab. Not thread-safe: ``Labs`` serialises."""

    def __init__(self, index: int, vpc_id: str, network: Network, where: dict, workdir: Path):
        self.index = index
        self.vpc_id = vpc_id
        self.network = network
        self.where = where
        self.workdir = workdir
        self.fingerprint = fingerprint(network)
        self.ports: ProbePorts = probe_ports(network)
        self.prefix = f"{netns.namespace_prefix()}{index:x}"
        self.namespaces: dict[str, str] = {}
        self.hosts: dict[str, Host] = {}
        self.subnets: list[WiredSubnet] = []
        self.faults: list[dict] = []
        self.built_at: float | None = None
        self.build_seconds: float | None = None

    # --- naming -----------------------------------------------------------------------------------

    def ns(self, role: str) -> str:
        name = self.namespaces.get(role)
        if name is None:
            name = f"{self.prefix}{role}"
            if len(name) > netns.MAX_NAME:
                raise ValueError(f"namespace name {name} is longer than {netns.MAX_NAME} characters")
            self.namespaces[role] = name
        return name

    @property
    def casablanca(self) -> bool:
        return self.network.zone.region == CASABLANCA_REGION

    # --- build ------------------------------------------------------------------------------------

    def build(self) -> None:
        started = time.monotonic()
        try:
            self._plan()
            self._create_namespaces()
            self._wire()
            self._filter()
            self._start_listeners()
        except Exception:
            self.teardown()
            raise
        self.built_at = time.time()
        self.build_seconds = round(time.monotonic() - started, 3)
        log.info("lab %s for %s built in %.2f s", self.prefix, self.vpc_id, self.build_seconds)

    def _plan(self) -> None:
        network = self.network
        zone = network.zone.name
        wired = [s for s in network.subnets if s.availability_zone == zone or netns_role_regional(s)]
        self.subnets = [
            WiredSubnet(s, index, "z" if s.availability_zone == zone else "r")
            for index, s in enumerate(wired)
        ]
        wired_ids = {w.subnet.subnet_id for w in self.subnets}
        instances = [
            i for i in network.instances if i.subnet_id in wired_ids and i.state in ("pending", "running")
        ]
        for number, instance in enumerate(instances):
            self.hosts[instance.instance_id] = Host(
                key=instance.instance_id,
                namespace=self.ns(f"i{number}"),
                address=instance.private_ip,
                role="instance",
                subnet_id=instance.subnet_id,
                public_ip=instance.public_ip,
                carrier_ip=network.carrier_ip_of(instance),
            )
        for role in ("r", "z", "g", "c"):
            self.ns(role)
        self.hosts["internet"] = Host("internet", self.ns("n"), INTERNET_HOST, "internet")
        self.hosts["carrier-metro"] = Host(
            "carrier-metro", self.ns("m"), CARRIER_METRO_DEVICE, "carrier-metro"
        )
        self.hosts["carrier-other"] = Host(
            "carrier-other", self.ns("o"), CARRIER_OTHER_DEVICE, "carrier-other"
        )

    def _create_namespaces(self) -> None:
        netns.ip_batch(None, [f"netns add {name}" for name in self.namespaces.values()])
        routers = {self.ns(role) for role in ("r", "z", "g", "c", "n")}
        for name in self.namespaces.values():
            settings = {
                "net.ipv4.conf.all.rp_filter": "0",
                "net.ipv4.conf.default.rp_filter": "0",
                "net.ipv4.conf.all.send_redirects": "0",
                "net.ipv4.conf.default.send_redirects": "0",
                # Unprivileged listeners on low ports, unprivileged ping (ICMP datagram sockets).
                "net.ipv4.ip_unprivileged_port_start": "0",
                "net.ipv4.ping_group_range": "0 2147483647",
                "net.ipv4.ip_forward": "1" if name in routers else "0",
            }
            netns.run(
                "ip", "netns", "exec", name, "sysctl", "-q", "-w", *[f"{k}={v}" for k, v in settings.items()]
            )

    def _wire(self) -> None:
        batches: dict[str, list[str]] = {name: ["link set lo up"] for name in self.namespaces.values()}
        later: dict[str, list[str]] = {name: [] for name in self.namespaces.values()}

        def veth(role_a: str, if_a: str, role_b: str, if_b: str, link_mtu: int) -> None:
            batches[self.ns(role_a)].append(
                f"link add {if_a} mtu {link_mtu} type veth peer name {if_b} mtu {link_mtu} netns {self.ns(role_b)}"
            )
            later[self.ns(role_a)].append(f"link set {if_a} up")
            later[self.ns(role_b)].append(f"link set {if_b} up")

        for kind, ((role_a, if_a, addr_a), (role_b, if_b, addr_b)) in TRANSIT.items():
            veth(role_a, if_a, role_b, if_b, mtu(kind))
            later[self.ns(role_a)].append(f"addr add {addr_a}/30 dev {if_a}")
            later[self.ns(role_b)].append(f"addr add {addr_b}/30 dev {if_b}")

        # Subnets: a bridge in their half of the router, the gateway address .1 on it.
        instance_mtu = mtu("instance")
        for wired in self.subnets:
            router = self.ns(wired.router)
            prefix = ipaddress.ip_network(wired.subnet.cidr).prefixlen
            batches[router].append(f"link add {wired.bridge} mtu {instance_mtu} type bridge")
            later[router] += [
                f"addr add {wired.gateway}/{prefix} dev {wired.bridge}",
                f"link set {wired.bridge} up",
            ]
        for number, host in enumerate(h for h in self.hosts.values() if h.role == "instance"):
            wired = next(w for w in self.subnets if w.subnet.subnet_id == host.subnet_id)
            router = wired.router
            port = f"v{number}"
            veth(router, port, self._role_of(host), "eth0", instance_mtu)
            later[self.ns(router)].append(f"link set {port} master {wired.bridge}")
            prefix = ipaddress.ip_network(wired.subnet.cidr).prefixlen
            later[host.namespace] += [
                f"addr add {host.address}/{prefix} dev eth0",
                "link set eth0 up",
                f"route add default via {wired.gateway} dev eth0",
            ]
        # The outside: the internet host lives on the internet router; the devices hang off it.
        veth("c", "cm", "m", "eth0", mtu("carrier_network"))
        veth("n", "ot", "o", "eth0", mtu("internet"))
        later[self.ns("c")].append(f"addr add {CARRIER_METRO_NET.network_address + 1}/24 dev cm")
        later[self.ns("m")] += [
            f"addr add {CARRIER_METRO_DEVICE}/24 dev eth0",
            f"route add default via {CARRIER_METRO_NET.network_address + 1}",
        ]
        later[self.ns("n")] += [
            f"addr add {INTERNET_HOST}/32 dev lo",
            f"addr add {CARRIER_OTHER_NET.network_address + 1}/24 dev ot",
        ]
        later[self.ns("o")] += [
            f"addr add {CARRIER_OTHER_DEVICE}/24 dev eth0",
            f"route add default via {CARRIER_OTHER_NET.network_address + 1}",
        ]
        for name in self.namespaces.values():
            netns.ip_batch(name, batches[name])
        for name in self.namespaces.values():
            netns.ip_batch(name, later[name])
        self._route()

    def _role_of(self, host: Host) -> str:
        return next(role for role, name in self.namespaces.items() if name == host.namespace)

    def _route(self) -> None:
        network = self.network
        vpc_cidr = network.vpc.cidr if network.vpc else ""
        igw_up = network.internet_gateway is not None and network.internet_gateway.state == "available"
        cagw_up = network.carrier_gateway is not None and network.carrier_gateway.state == "available"
        lines: dict[str, list[str]] = {self.ns(role): [] for role in ("r", "z", "g", "c", "n")}
        r, z, g, c, n = (self.ns(role) for role in ("r", "z", "g", "c", "n"))
        # Each half of the VPC router reaches the other half's subnets over the Region-zone link.
        for wired in self.subnets:
            other = z if wired.router == "r" else r
            via = "169.254.0.2 dev rz" if other == r else "169.254.0.1 dev zr"
            lines[other].append(f"route add {wired.subnet.cidr} via {via}")
        # Traffic one half hands the other for a gateway it holds (a route table may name either).
        lines[r] += ["rule add iif rz lookup 90 pref 90", f"route add throw {vpc_cidr} table 90"]
        lines[z] += ["rule add iif zr lookup 91 pref 90", f"route add throw {vpc_cidr} table 91"]
        if igw_up:
            lines[r].append("route add default via 169.254.0.6 dev rg table 90")
        if cagw_up:
            lines[z].append("route add default via 169.254.0.10 dev zc table 91")
        # Each subnet's route table, applied to what leaves the subnet.
        for wired in self.subnets:
            router = self.ns(wired.router)
            lines[router].append(f"rule add iif {wired.bridge} lookup {wired.table} pref 100")
            table = network.route_table_for(wired.subnet)
            for route in table.routes if table else ():
                lines[router].append(
                    self._route_line(wired, route.destination, route.target, route.state, vpc_cidr)
                )
        # Gateways and the outside.
        public = [h for h in self.hosts.values() if h.role == "instance" and h.public_ip]
        carrier = [h for h in self.hosts.values() if h.role == "instance" and h.carrier_ip]
        lines[g] += [
            "route add default via 169.254.0.14 dev gn",
            f"route add {vpc_cidr} via 169.254.0.5 dev gr",
        ]
        lines[c] += [
            "route add default via 169.254.0.18 dev cn",
            f"route add {vpc_cidr} via 169.254.0.9 dev cz",
        ]
        if igw_up:
            lines[n] += [
                f"route add {h.public_ip}/32 via 169.254.0.13 dev ng src {INTERNET_HOST}" for h in public
            ]
        if cagw_up:
            lines[n] += [
                f"route add {h.carrier_ip}/32 via 169.254.0.17 dev nc src {INTERNET_HOST}" for h in carrier
            ]
        for name, batch in lines.items():
            netns.ip_batch(name, batch)

    def _route_line(
        self, wired: WiredSubnet, destination: str, target: str, state: str, vpc_cidr: str
    ) -> str:
        table = f"table {wired.table}"
        network = self.network
        if target == "local":
            return f"route add throw {destination} {table}"
        if state != "active":
            return f"route add blackhole {destination} {table}"
        igw = network.internet_gateway
        cagw = network.carrier_gateway
        if target.startswith("igw-") and igw and igw.gateway_id == target and igw.state == "available":
            via = "169.254.0.6 dev rg" if wired.router == "r" else "169.254.0.1 dev zr"
            return f"route add {destination} via {via} {table}"
        if target.startswith("cagw-") and cagw and cagw.gateway_id == target and cagw.state == "available":
            via = "169.254.0.10 dev zc" if wired.router == "z" else "169.254.0.2 dev rz"
            return f"route add {destination} via {via} {table}"
        return f"route add unreachable {destination} {table}"  # a target the lab does not model

    # --- filters ----------------------------------------------------------------------------------

    def _filter(self) -> None:
        for host in self.hosts.values():
            if host.role == "instance":
                netns.nft(host.namespace, self._security_group_rules(host))
        for role in ("r", "z"):
            netns.nft(self.ns(role), self._acl_rules(role))
        netns.nft(self.ns("g"), self._internet_gateway_rules())
        netns.nft(self.ns("c"), self._carrier_gateway_rules())

    def _instance(self, instance_id: str) -> Instance:
        return next(i for i in self.network.instances if i.instance_id == instance_id)

    def _security_group_rules(self, host: Host) -> str:
        """The instance's security groups: stateful; any group's rule that matches lets it in."""
        instance = self._instance(host.key)
        groups = self.network.security_groups_of(instance)
        lines = ["table inet sg {"]
        for group in groups:
            chain = _chain(group.group_id)
            lines.append(f"  chain in_{chain} {{")
            lines += [f"    {rule} accept" for r in group.ingress if (rule := self._sg_match(r, "saddr"))]
            lines.append("  }")
            lines.append(f"  chain out_{chain} {{")
            lines += [f"    {rule} accept" for r in group.egress if (rule := self._sg_match(r, "daddr"))]
            lines.append("  }")
        for hook, direction, device in (("input", "in", "iif"), ("output", "out", "oif")):
            lines += [
                f"  chain {hook} {{",
                f"    type filter hook {hook} priority 0; policy drop;",
                f'    {device} "lo" accept',
                "    ct state established,related accept",
            ]
            lines += [f"    jump {direction}_{_chain(group.group_id)}" for group in groups]
            lines.append("  }")
        lines.append("}")
        return "\n".join(lines) + "\n"

    def _sg_match(self, rule: Rule, field_name: str) -> str:
        if rule.group_id:
            members = [
                i.private_ip
                for i in self.network.instances
                if rule.group_id in i.security_group_ids and i.private_ip
            ]
            if not members:
                return ""
            peer = f"ip {field_name} {{ {', '.join(members)} }}"
        else:
            peer = f"ip {field_name} {rule.cidr}"
        return f"{peer} {_protocol_match(rule.protocol, rule.ports)}".strip()

    def _acl_rules(self, role: str) -> str:
        """Network ACLs of the subnets in this half of the router: stateless, first match wins."""
        lines = ["table inet nacl {"]
        jumps = []
        for wired in (w for w in self.subnets if w.router == role):
            acl = self.network.network_acl_for(wired.subnet)
            if acl is None:
                continue
            for egress, direction, field_name in ((True, "out", "daddr"), (False, "in", "saddr")):
                lines.append(f"  chain {direction}_{wired.index} {{")
                entries = sorted((e for e in acl.entries if e.egress == egress), key=lambda e: e.rule_number)
                lines += [f"    {rule}" for e in entries if (rule := _acl_line(e, field_name))]
                lines += ["    drop", "  }"]
            jumps += [
                f'    iifname "{wired.bridge}" jump out_{wired.index}',
                f'    oifname "{wired.bridge}" jump in_{wired.index}',
            ]
        lines += [
            "  chain forward {",
            "    type filter hook forward priority 0; policy accept;",
            *jumps,
            "  }",
            "}",
        ]
        return "\n".join(lines) + "\n"

    def _internet_gateway_rules(self) -> str:
        """1:1 NAT of each public IP to its instance; instances without one do not get out."""
        public = [h for h in self.hosts.values() if h.role == "instance" and h.public_ip]
        lines = [
            *_nat_table_head("igw", '"gn"', [(h.public_ip, h.address) for h in public]),
            '    iifname "gn" oifname "gr" ct status dnat accept',
        ]
        if public:
            addresses = ", ".join(h.address for h in public)
            lines.append(f'    iifname "gr" oifname "gn" ip saddr {{ {addresses} }} accept')
        lines += ["  }", "}"]
        return "\n".join(lines) + "\n"

    def _carrier_gateway_rules(self) -> str:
        """Carrier IP NAT and the carrier gateway's fixed controls (docs/lab.md)."""
        carrier = [h for h in self.hosts.values() if h.role == "instance" and h.carrier_ip]
        lines = _nat_table_head("cagw", '{ "cn", "cm" }', [(h.carrier_ip, h.address) for h in carrier])
        # Out of the zone: only instances with a Carrier IP (the gateway translates nothing else).
        if carrier:
            addresses = ", ".join(h.address for h in carrier)
            lines.append(f'    iifname "cz" ip saddr != {{ {addresses} }} drop')
        else:
            lines.append('    iifname "cz" drop')
        lines += [
            '    iifname "cz" oifname "cm" accept',  # everything with the carrier network (the zone's metro)
            '    iifname "cz" meta l4proto icmp accept',  # ICMP to the internet
            '    iifname "cz" meta l4proto tcp accept',  # TCP out; its responses are established
        ]
        if self.casablanca:
            lines.append('    iifname "cz" meta l4proto { tcp, udp } accept')
        lines += [
            # Into the zone: only what was translated to an instance's Carrier IP.
            '    iifname { "cn", "cm" } ct status dnat jump inbound',
            "  }",
            "  chain inbound {",
            '    iifname "cm" accept',  # everything from the carrier network in the zone's metro
            f"    ip saddr {CARRIER_OTHER_NET} drop",  # other carriers and metro areas cannot reach the zone
            "    meta l4proto icmp accept",  # ICMP from the internet
        ]
        if self.casablanca:
            lines.append("    meta l4proto { tcp, udp } accept")
        lines += ["  }", "}"]
        return "\n".join(lines) + "\n"

    # --- listeners --------------------------------------------------------------------------------

    def _start_listeners(self) -> None:
        code = LISTENER_FILE.read_text(encoding="utf-8")
        tcp = ",".join(str(p) for p in self.ports.tcp)
        udp = ",".join(str(p) for p in self.ports.udp)
        for host in self.hosts.values():
            host.log_path = self.workdir / f"{host.namespace}.log"
            with host.log_path.open("w", encoding="utf-8") as output:
                host.listener = subprocess.Popen(
                    [
                        "ip",
                        "netns",
                        "exec",
                        host.namespace,
                        *_unprivileged(),
                        PYTHON,
                        "-I",
                        "-S",
                        "-c",
                        code,
                        host.key,
                        tcp,
                        udp,
                    ],
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
        deadline = time.monotonic() + LISTENER_READY_SECONDS
        for host in self.hosts.values():
            while "listening" not in host.log_path.read_text(encoding="utf-8"):
                if host.listener.poll() is not None or time.monotonic() > deadline:
                    raise netns.LabCommandError(
                        f"listener in {host.namespace} did not start: {host.log_path.read_text()[-500:]}"
                    )
                time.sleep(0.02)

    def listener_log(self, key: str) -> list[str]:
        host = self.hosts[key]
        if host.log_path is None or not host.log_path.exists():
            return []
        return host.log_path.read_text(encoding="utf-8").splitlines()

    # --- probes -----------------------------------------------------------------------------------

    def run_probe(self, key: str, request: ProbeRequest) -> subprocess.CompletedProcess:
        """Run the product's probe script in a host's namespace: unprivileged, own mount and PID ns."""
        command = [*self.isolated(key), PYTHON, "-I", "-S", "-", *request.arguments]
        budget = request.timeout * 4 + (request.timeout * 14 if request.mode == "mtu" else 0) + 10
        return subprocess.run(command, input=PROBE_SCRIPT, capture_output=True, text=True, timeout=budget)

    def isolated(self, key: str) -> list[str]:
        """The command prefix that runs a program in a host's namespace as nobody, without
        capabilities or new privileges, in its own mount and PID namespaces (/proc remounted)."""
        host = self.hosts.get(key)
        if host is None:
            raise KeyError(f"no host {key} in the lab of {self.vpc_id}")
        return [
            *("ip", "netns", "exec", host.namespace),
            *("unshare", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc"),
            *_unprivileged(),
        ]

    # --- faults -----------------------------------------------------------------------------------

    def inject(self, fault: dict) -> dict:
        """Break the data plane only (the sandbox's EC2 state, hence the matrix, stays as it was)."""
        kind = fault.get("kind")
        if kind == "drop-route":
            subnet_id = fault.get("subnet_id") or self._wavelength_subnet_id()
            destination = fault.get("destination", "0.0.0.0/0")
            wired = next((w for w in self.subnets if w.subnet.subnet_id == subnet_id), None)
            if wired is None:
                raise ValueError(f"no subnet {subnet_id} in the lab")
            netns.ip_batch(self.ns(wired.router), [f"route del {destination} table {wired.table}"])
            done = {"kind": kind, "subnet_id": subnet_id, "destination": destination}
        elif kind == "break-security-rule":
            group_id = fault.get("group_id") or self._wavelength_group_id()
            direction = fault.get("direction", "ingress")
            if direction not in ("ingress", "egress"):
                raise ValueError("direction is ingress or egress")
            chain = ("in_" if direction == "ingress" else "out_") + _chain(group_id)
            hosts = [
                h
                for h in self.hosts.values()
                if h.role == "instance" and group_id in self._instance(h.key).security_group_ids
            ]
            if not hosts:
                raise ValueError(f"no instance of the lab has security group {group_id}")
            for host in hosts:
                netns.nft(host.namespace, f"flush chain inet sg {chain}\n")
            done = {"kind": kind, "group_id": group_id, "direction": direction}
        elif kind == "blackhole-carrier-gateway":
            netns.nft(
                self.ns("c"),
                "table ip fault {\n  chain forward {\n"
                "    type filter hook forward priority -50; policy drop;\n  }\n}\n",
            )
            done = {"kind": kind}
        else:
            raise ValueError(f"unknown fault kind {kind!r}; one of {', '.join(FAULT_KINDS)}")
        self.faults.append(done)
        return done

    def _wavelength_subnet_id(self) -> str:
        subnet = self.network.wavelength_subnet
        if subnet is None:
            raise ValueError("the lab has no Wavelength subnet")
        return subnet.subnet_id

    def _wavelength_group_id(self) -> str:
        instance = self.network.wavelength_instance
        if instance is None or not instance.security_group_ids:
            raise ValueError("the lab has no Wavelength instance with a security group")
        return instance.security_group_ids[0]

    # --- teardown and description -------------------------------------------------------------------

    def teardown(self) -> None:
        for host in self.hosts.values():
            if host.listener is not None and host.listener.poll() is None:
                host.listener.kill()
                host.listener.wait(timeout=10)
        for name in self.namespaces.values():
            netns.delete_namespace(name)

    def describe(self) -> dict:
        network = self.network
        return {
            "vpc_id": self.vpc_id,
            "account": self.where.get("account"),
            "region": self.where.get("region"),
            "zone": network.zone.name,
            "casablanca": self.casablanca,
            "namespaces": dict(self.namespaces),
            "hosts": [h.describe() for h in self.hosts.values()],
            "ports": {"tcp": list(self.ports.tcp), "udp": list(self.ports.udp)},
            "mtu": dict(link_data()["mtu"]),
            "mtu_unconfirmed": list(link_data()["unconfirmed"]),
            "faults": list(self.faults),
            "built_at": self.built_at,
            "build_seconds": self.build_seconds,
        }


def netns_role_regional(subnet: Subnet) -> bool:
    """A subnet on the Region's side (not in any Wavelength Zone)."""
    return "-wlz-" not in subnet.availability_zone


def _unprivileged() -> list[str]:
    uid = str(netns.PROBE_USER)
    return [
        "setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--no-new-privs",
        "--inh-caps=-all",  # no_new_privs: file capabilities (ping's cap_net_raw) are not granted
    ]


def _chain(group_id: str) -> str:
    return group_id.replace("-", "_")


def _protocol_match(protocol: str, ports: PortSet) -> str:
    if protocol == "all":
        return ""
    if protocol in ("tcp", "udp"):
        if ports == ALL_PORTS:
            return f"meta l4proto {protocol}"
        return f"{protocol} dport {{ {', '.join(ports.labels())} }}"
    if protocol == "icmp":
        return "meta l4proto icmp"
    if protocol.isdigit():
        return f"meta l4proto {protocol}"
    return "meta l4proto 255"  # an unknown protocol name matches nothing the lab sends


def _acl_line(entry: AclEntry, field_name: str) -> str:
    verdict = "return" if entry.allow else "drop"
    return f"ip {field_name} {entry.cidr} {_protocol_match(entry.protocol, entry.ports)} {verdict}".replace(
        "  ", " "
    )


def _nat_table_head(table: str, outside: str, mappings: list[tuple[str, str]]) -> list[str]:
    """A gateway's nftables table up to its forward rules: 1:1 NAT between each outside address
    and its instance's (`mappings`: (outside, inside)) on the `outside` interfaces, and a forward
    chain that drops by default and lets replies through."""
    return [
        f"table ip {table} {{",
        "  chain pre {",
        "    type nat hook prerouting priority dstnat;",
        *[f"    iifname {outside} ip daddr {outer} dnat to {inner}" for outer, inner in mappings],
        "  }",
        "  chain post {",
        "    type nat hook postrouting priority srcnat;",
        *[f"    oifname {outside} ip saddr {inner} snat to {outer}" for outer, inner in mappings],
        "  }",
        "  chain forward {",
        "    type filter hook forward priority 0; policy drop;",
        "    ct state established,related accept",
    ]
