"""Which probes a run sends, what the traffic matrix expects of each, and the cells' verdicts.

Plain data in, plain data out: the network (netmodel), its matrix rows, and where the outside
endpoints are for this run's method (the lab's hosts, or settings on AWS).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from netmodel.network import Network, PortSet
from netmodel.probes import ProbeRequest, probe_ports
from netmodel.traffic import (
    CARRIER_METRO,
    CARRIER_OTHER,
    INTERNET,
    REGION_SUBNET,
    WAVELENGTH_INSTANCE,
    TrafficRow,
)

from .choices import CellVerdict

OUTSIDE = (INTERNET, CARRIER_METRO, CARRIER_OTHER)
OUTBOUND_TCP_PORTS = (80, 443)


@dataclass(frozen=True)
class Outside:
    """Where the outside endpoints are: their addresses (probe targets) and whether probes can be
    sent from each (the lab runs them; on AWS only the panel's host, as the internet)."""

    addresses: dict[str, str] = field(default_factory=dict)
    can_send_from: frozenset[str] = frozenset()
    why_not: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedProbe:
    source: str
    destination: str
    protocol: str
    port: int | None
    expected: bool
    sender: str  # an instance id, an outside endpoint's name, or "" when it cannot be sent
    request: ProbeRequest | None
    why_not: str = ""  # when not verifiable: why, with the command to run by hand if there is one

    def key(self) -> tuple:
        return (self.source, self.destination, self.protocol)


def row_ports(row: TrafficRow) -> PortSet:
    if not row.allowed:
        return PortSet()
    if row.ports is None:
        return PortSet(((0, 65535),))
    ranges = []
    for label in row.ports:
        low, _, high = label.partition("-")
        ranges.append((int(low), int(high or low)))
    return PortSet.of(*ranges)


def port_allowed(row: TrafficRow, port: int | None) -> bool:
    if port is None:
        return row.allowed
    return any(low <= port <= high for low, high in row_ports(row).ranges)


def plan_probes(
    network: Network, rows: list[TrafficRow], outside: Outside, *, timeout: float
) -> list[PlannedProbe]:
    """One probe per (row, port): TCP to the probed ports, UDP to the probed UDP ports, one ICMP."""
    instance = network.wavelength_instance
    bastion = network.bastion
    carrier_ip = network.carrier_ip_of(instance) if instance else ""
    ports = probe_ports(network)
    inbound_tcp = tuple(p for p in ports.tcp if p not in OUTBOUND_TCP_PORTS) or (22,)
    planned: list[PlannedProbe] = []
    for row in rows:
        if row.source not in (REGION_SUBNET, WAVELENGTH_INSTANCE, *OUTSIDE) or row.destination not in (
            REGION_SUBNET,
            WAVELENGTH_INSTANCE,
            *OUTSIDE,
        ):
            continue  # other-wavelength-zone: no lab host there
        if row.protocol == "icmp":
            port_list: tuple[int | None, ...] = (None,)
        elif row.protocol == "udp":
            port_list = ports.udp
        elif row.destination in OUTSIDE:
            port_list = OUTBOUND_TCP_PORTS
        elif row.destination == REGION_SUBNET:
            port_list = (22,)
        else:
            port_list = inbound_tcp
        sender, sender_why = _sender(row.source, instance, bastion, outside)
        target, target_why = _target(row.source, row.destination, instance, bastion, carrier_ip, outside)
        for port in port_list:
            expected = port_allowed(row, port)
            request = None
            why = sender_why or target_why
            if target:
                request = ProbeRequest(row.protocol, target, port or 0, timeout)
            if (
                why
                and request is not None
                and row.source in OUTSIDE
                and row.source not in outside.can_send_from
            ):
                why = f"{why}; run from such a device:\n{request.shell_line()}"
            planned.append(
                PlannedProbe(
                    row.source,
                    row.destination,
                    row.protocol,
                    port,
                    expected,
                    "" if why else sender,
                    None if why else request,
                    why,
                )
            )
    return planned


def _sender(source: str, instance, bastion, outside: Outside) -> tuple[str, str]:
    if source == WAVELENGTH_INSTANCE:
        return (instance.instance_id, "") if instance else ("", "no Wavelength instance")
    if source == REGION_SUBNET:
        return (
            (bastion.instance_id, "") if bastion else ("", "no instance in the regional subnet to probe from")
        )
    if source in outside.can_send_from:
        return source, ""
    return "", outside.why_not.get(source, f"not verifiable here: no {source} host")


def _target(
    source: str, destination: str, instance, bastion, carrier_ip: str, outside: Outside
) -> tuple[str, str]:
    if destination == WAVELENGTH_INSTANCE:
        if instance is None:
            return "", "no Wavelength instance"
        if source == REGION_SUBNET:
            return instance.private_ip, ""
        return (carrier_ip, "") if carrier_ip else ("", "no Carrier IP to probe")
    if destination == REGION_SUBNET:
        return (bastion.private_ip, "") if bastion else ("", "no instance in the regional subnet to probe")
    address = outside.addresses.get(destination, "")
    return (address, "") if address else ("", outside.why_not.get(destination, f"no {destination} address"))


def cell_verdicts(items: list[dict]) -> dict[tuple[str, str, str], dict]:
    """Per matrix cell: verified / contradicted / not verifiable, and why."""
    cells: dict[tuple[str, str, str], list[dict]] = {}
    for item in items:
        cells.setdefault((item["source"], item["destination"], item["protocol"]), []).append(item)
    verdicts = {}
    for key, cell_items in cells.items():
        verifiable = [i for i in cell_items if i["verifiable"]]
        wrong = [i for i in verifiable if i["observed"] != i["expected"]]
        if wrong:
            verdict = CellVerdict.CONTRADICTED
            why = "; ".join(_item_text(i) for i in wrong)
        elif verifiable:
            verdict = CellVerdict.VERIFIED
            why = "; ".join(_item_text(i) for i in verifiable)
        else:
            verdict = CellVerdict.NOT_VERIFIABLE
            why = cell_items[0]["detail"]
        verdicts[key] = {"verdict": str(verdict), "why": why}
    return verdicts


def _item_text(item: dict) -> str:
    port = f" {item['port']}" if item.get("port") else ""
    expected = "allowed" if item["expected"] else "denied"
    observed = "through" if item["observed"] else "blocked"
    return f"{item['protocol']}{port}: expected {expected}, observed {observed} ({item['detail']})"
