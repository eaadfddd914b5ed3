"""The bounds of every input, and checks on a request's network settings as AWS would apply them.

Pure: values in, errors out. The bounds below are the one definition that the forms
(`environments/forms.py`, `audit/forms.py`) and the API schemas (`environments/api.py`,
`audit/api.py`) are built from, so a page and the API accept and refuse the same input, and the
OpenAPI document states the same limits the code enforces.
"""

import ipaddress
import re

PROTOCOLS = ("all", "tcp", "udp", "icmp")
_PORTS = re.compile(r"^\d{1,5}(-\d{1,5})?$")
NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
NAME_MESSAGE = "Use 1–40 lowercase letters, digits and hyphens, starting and ending with a letter or digit."

# --- Bounds ---------------------------------------------------------------------------------------
NAME_MAX = 40
PURPOSE_MAX = 500
COMMENT_MAX = 1000
REASON_MAX = 500
TEAM_SLUG_MAX = 50
ZONE_NAME_MAX = 64
ZONE_GROUP_MAX = 64
INSTANCE_TYPE_MAX = 32
KEY_NAME_MAX = 255  # what EC2 accepts for a key pair name
IMAGE_ID_MAX = 21  # ami- and 8 or 17 hex digits
CIDR_MAX = 31  # long enough for 255.255.255.255/255.255.255.255, so netmask notation gets its own message
PORTS_MAX = 200  # "80,443,1000-2000": the characters of one rule's ports
INGRESS_RULES_MAX = 8  # one rule per protocol is all a request needs; a few more are tolerated
PORT_RANGES_MAX = 50  # each range is a security group rule; AWS allows 60 inbound rules per group
TTL_HOURS_MAX = 10 * 365 * 24  # absolute bound; each team's max_ttl_hours is the real limit
EXTEND_HOURS_MAX = TTL_HOURS_MAX
ID_MAX = 2**63 - 1  # ids are PostgreSQL bigints
PLAN_HASH_LENGTH = 64
SEARCH_MAX = 200

# Character sets, as patterns both Python's `re` and JSON Schema (ECMA 262) read the same way.
NAME_PATTERN = NAME.pattern
SLUG_PATTERN = r"^[-a-zA-Z0-9_]+$"
ZONE_PATTERN = r"^[a-z0-9-]+$"
INSTANCE_TYPE_PATTERN = r"^[a-z0-9][a-z0-9.-]*$"
IMAGE_ID_PATTERN = r"^(ami-([0-9a-f]{8}|[0-9a-f]{17}))?$"
KEY_NAME_PATTERN = r"^[ -~]*$"  # printable ASCII, as EC2 asks of key pair names
CIDR_PATTERN = r"^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}/[0-9]{1,2}$"
PORTS_PATTERN = r"^[0-9, -]*$"
PLAN_HASH_PATTERN = r"^[0-9a-f]{64}$"
TEXT_PATTERN = r"^[^\x00]*$"  # free text: anything but NUL, which PostgreSQL cannot store

_CIDR = re.compile(CIDR_PATTERN)
_NETMASK = re.compile(r"^[0-9.]+/[0-9]{1,3}(\.[0-9]{1,3}){3}$")


def text_error(value: str) -> str | None:
    """Why free text is refused, or None: it must not contain NUL bytes."""
    return "Must not contain NUL (\\x00) characters." if "\x00" in value else None


def cidr_error(value: str) -> str | None:
    """Why `value` is not an IPv4 CIDR block written as AWS writes them (10.0.0.0/16), or None."""
    if ":" in value:
        return "Only IPv4 is supported (Wavelength subnets have no IPv6)."
    if _NETMASK.match(value):
        address, _, mask = value.partition("/")
        try:
            prefix = ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen
        except ValueError:
            return f"“{value}” uses a netmask, and {mask} is not a valid one: write a prefix length, e.g. 10.0.0.0/16."
        return f"“{value}” uses a netmask: write the prefix length instead, {address}/{prefix}."
    if not _CIDR.match(value):
        return f"“{value[:CIDR_MAX + 2]}” is not an IPv4 CIDR block such as 10.0.0.0/16."
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError:
        try:
            network = ipaddress.IPv4Network(value, strict=False)
        except ValueError:
            return f"“{value}” is not an IPv4 CIDR block such as 10.0.0.0/16."
        return f"“{value}” is not an IPv4 CIDR block such as 10.0.0.0/16: its host bits are set (did you mean {network}?)."
    return None


def _network(value: str, field: str, errors: dict) -> ipaddress.IPv4Network | None:
    problem = cidr_error(value)
    if problem:
        errors.setdefault(field, []).append(problem)
        return None
    return ipaddress.IPv4Network(value)


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
    if len(rules) > INGRESS_RULES_MAX:
        return {"wavelength_ingress": [f"Give at most {INGRESS_RULES_MAX} rules (one per protocol is enough)."]}
    ranges = 0
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
        if not isinstance(ports, str) or len(ports) > PORTS_MAX:
            messages.append(f"Rule {number}: give ports as text of at most {PORTS_MAX} characters, such as 80,443,1000-2000.")
            continue
        parts = ports.replace(" ", "").split(",")
        ranges += len(parts)
        if ranges > PORT_RANGES_MAX:
            messages.append(f"At most {PORT_RANGES_MAX} ports and port ranges in all (each is a security group rule).")
            break
        for part in parts:
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
