"""Checks on a request's network settings, as AWS would apply them. Pure: values in, errors out."""

import ipaddress
import re

PROTOCOLS = ("all", "tcp", "udp", "icmp")
_PORTS = re.compile(r"^\d{1,5}(-\d{1,5})?$")
NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")


def _network(value: str, field: str, errors: dict) -> ipaddress.IPv4Network | None:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        errors.setdefault(field, []).append(f"“{value}” is not an IPv4 CIDR block such as 10.0.0.0/16.")
        return None
    if network.version != 4:
        errors.setdefault(field, []).append("Only IPv4 is supported (Wavelength subnets have no IPv6).")
        return None
    return network


def _aws_size(network: ipaddress.IPv4Network, field: str, errors: dict, what: str) -> None:
    if not 16 <= network.prefixlen <= 28:
        errors.setdefault(field, []).append(f"AWS accepts {what} sizes from /16 to /28; got /{network.prefixlen}.")


def network_errors(
    *, vpc_cidr: str, public_subnet_cidr: str, wavelength_subnet_cidr: str, bastion: bool, bastion_ssh_cidr: str = ""
) -> dict[str, list[str]]:
    """Subnets inside the VPC, not overlapping, and of sizes AWS accepts."""
    errors: dict[str, list[str]] = {}
    vpc = _network(vpc_cidr, "vpc_cidr", errors)
    if vpc is not None:
        _aws_size(vpc, "vpc_cidr", errors, "VPC")
    subnets = {"wavelength_subnet_cidr": _network(wavelength_subnet_cidr, "wavelength_subnet_cidr", errors)}
    if bastion:
        subnets["public_subnet_cidr"] = _network(public_subnet_cidr, "public_subnet_cidr", errors)
    for field, subnet in subnets.items():
        if subnet is None:
            continue
        _aws_size(subnet, field, errors, "subnet")
        if vpc is not None and not subnet.subnet_of(vpc):
            errors.setdefault(field, []).append(f"{subnet} is not inside the VPC's {vpc}.")
    public, wavelength = subnets.get("public_subnet_cidr"), subnets["wavelength_subnet_cidr"]
    if public is not None and wavelength is not None and public.overlaps(wavelength):
        errors.setdefault("public_subnet_cidr", []).append(f"{public} overlaps the Wavelength subnet {wavelength}.")
    if bastion_ssh_cidr:
        _network(bastion_ssh_cidr, "bastion_ssh_cidr", errors)
        if not bastion:
            errors.setdefault("bastion_ssh_cidr", []).append("There is no bastion to reach by SSH.")
    return errors


def ingress_errors(rules: list) -> dict[str, list[str]]:
    """Rules of `wavelength_ingress`: [{"protocol": "tcp"|"udp"|"icmp"|"all", "ports": "80,443,1000-2000"|None}]."""
    messages: list[str] = []
    if not isinstance(rules, list):
        return {"wavelength_ingress": ["Must be a list of {protocol, ports} rules."]}
    for number, rule in enumerate(rules, start=1):
        if not isinstance(rule, dict) or set(rule) - {"protocol", "ports"}:
            messages.append(f"Rule {number}: give only “protocol” and “ports”.")
            continue
        protocol, ports = rule.get("protocol"), rule.get("ports")
        if protocol not in PROTOCOLS:
            messages.append(f"Rule {number}: protocol must be one of {', '.join(PROTOCOLS)}.")
            continue
        if ports in (None, ""):
            continue
        if protocol in ("all", "icmp"):
            messages.append(f"Rule {number}: ports apply only to tcp and udp.")
            continue
        for part in str(ports).replace(" ", "").split(","):
            if not _PORTS.match(part):
                messages.append(f"Rule {number}: “{part}” is not a port or a range such as 1000-2000.")
                continue
            low, _, high = part.partition("-")
            low_port, high_port = int(low), int(high or low)
            if high_port > 65535 or low_port > high_port:
                messages.append(f"Rule {number}: {part} is not a range of ports 0–65535.")
    return {"wavelength_ingress": messages} if messages else {}


def port_ranges(ports: str | None) -> list[tuple[int, int]] | None:
    """“80,443,1000-2000” as [(80, 80), (443, 443), (1000, 2000)]; None means every port."""
    if ports in (None, ""):
        return None
    ranges = []
    for part in str(ports).replace(" ", "").split(","):
        low, _, high = part.partition("-")
        ranges.append((int(low), int(high or low)))
    return ranges
