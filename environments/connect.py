"""How a person reaches their environment by SSH, and only when it can work.

Pure functions of the plan's spec, the addresses AWS described and the viewer's address as the
panel sees it: the page shows the ssh commands only when a key pair was chosen, there is a bastion
with a public address, and the bastion's security group admits the viewer; otherwise what is
missing and how to fix it. Nothing here calls AWS.
"""

import ipaddress

from audit.client_ip import client_ip

from .choices import EnvironmentState

SSH_USER = "ec2-user"  # Amazon Linux, the default image
CONNECTABLE_STATES = (EnvironmentState.PROVISIONING, EnvironmentState.READY, EnvironmentState.FAILED)
# Addresses that never reach AWS as they are (RFC 1918, loopback, link-local, carrier-grade NAT):
# documentation ranges count as public here, unlike `ipaddress.is_private`.
PRIVATE = [
    ipaddress.ip_network(cidr)
    for cidr in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "100.64.0.0/10")
]


def client_address(request) -> str:
    """The requester's address as the panel sees it: REMOTE_ADDR, or behind the trusted proxies
    (WLPANEL_TRUSTED_PROXIES) the address they saw (`audit.client_ip`, as the audit log records it)."""
    return client_ip(request) or ""


def suggested_ssh_cidr(address: str) -> str:
    """The address as a /32 when AWS would see it so (IPv4, not a private or loopback address:
    behind a NAT the panel cannot know the public one, so it suggests nothing)."""
    parsed = _parse(address)
    return f"{parsed}/32" if parsed is not None and parsed.version == 4 and not _private(parsed) else ""


def ssh_cidr_warnings(cidr: str, viewer: str = "") -> list[str]:
    """What a person should know about the range the bastion admits SSH from."""
    if not cidr:
        return []
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return []
    warnings = []
    if network.prefixlen == 0:
        warnings.append(
            f"{cidr} admits SSH to the bastion from the whole internet: it will be scanned and tried within minutes. "
            "Prefer your own address (a /32)."
        )
    elif not _private(network) and network.num_addresses > 256:
        warnings.append(
            f"{cidr} is a public range of {network.num_addresses:,} addresses, all of which may try SSH on the bastion. "
            "Prefer your own address (a /32) or your office's range."
        )
    elif _private(network):
        warnings.append(
            f"{cidr} is a private range: the bastion sits on the internet, so SSH from there only works from inside "
            "the VPC or over a VPN into it, not from your desk."
        )
    viewer_address = _parse(viewer)
    if viewer_address is not None and _private(viewer_address) and not _private(network):
        warnings.append(
            f"The panel sees you at {viewer}, a private address: AWS will see the public address of your network's "
            "NAT instead. Use that one (what an IP-echo service shows you)."
        )
    return warnings


def connection_help(*, spec: dict, addresses: dict, viewer: str) -> dict:
    """{"commands": [...] or [], "missing": [(what, how to fix)], "warnings": [...]}.

    `commands` is non-empty only when everything needed is there: a bastion with a public address,
    a key pair on the instances, and a bastion rule that admits the viewer's address.
    """
    missing: list[tuple[str, str]] = []
    key_name = spec.get("key_name") or ""
    cidr = spec.get("bastion_ssh_cidr") or ""
    if not spec.get("bastion", True):
        missing.append(
            (
                "This environment has no bastion, so nothing outside the VPC reaches the instance by SSH.",
                "Request a new environment from this one with “Bastion host: yes”.",
            )
        )
    if not key_name:
        missing.append(
            (
                "No EC2 key pair was chosen, so the instances accept no SSH key at all.",
                "Request a new environment from this one and choose a key pair under “Advanced: key pair and AMI”.",
            )
        )
    if spec.get("bastion", True):
        if not cidr:
            missing.append(
                (
                    "The bastion's security group admits SSH from no address outside the VPC.",
                    "Request a new environment from this one with “SSH to the bastion from” set to your address.",
                )
            )
        elif _private_cidr(cidr):
            missing.append(
                (
                    f"The bastion admits SSH only from {cidr}, a private range: nobody outside the VPC reaches it.",
                    "Request a new environment from this one with your public address (a /32) as “SSH to the bastion from”.",
                )
            )
        elif _comparable(cidr, viewer) and not _admits(cidr, viewer):
            missing.append(
                (
                    f"The bastion admits SSH only from {cidr}; the panel sees you at {viewer}.",
                    "Connect from inside that range, or request a new environment from this one with your address.",
                )
            )
    commands: list[str] = []
    bastion_ip = addresses.get("bastion_public_ip", "")
    instance_ip = addresses.get("instance_private_ip", "")
    # A stopped or terminated instance keeps its described address; nothing answers there.
    running = all(addresses.get(state, "") in ("", "running") for state in ("bastion_state", "instance_state"))
    if not missing and bastion_ip and instance_ip and running:
        commands = [
            f"ssh-add ~/.ssh/{key_name}.pem   # the private key of key pair {key_name}",
            f"ssh -J {SSH_USER}@{bastion_ip} {SSH_USER}@{instance_ip}",
        ]
    return {"commands": commands, "missing": missing, "warnings": ssh_cidr_warnings(cidr, viewer)}


def environment_connection(environment, addresses: dict, viewer: str) -> dict | None:
    """The page's "Connecting by SSH" section (`connection_help`) while the environment's
    resources may exist (building, ready, failed); None once it is being or was destroyed."""
    if environment.state not in CONNECTABLE_STATES:
        return None
    return connection_help(spec=(environment.plan or {}).get("spec", {}), addresses=addresses, viewer=viewer)


def ssh_command(connection: dict | None) -> str:
    """The ssh command of a connection that can work, else "" (what the API's `addresses.ssh` is)."""
    return next((line for line in (connection or {}).get("commands", ()) if line.startswith("ssh ")), "")


def _private(value) -> bool:
    """An address or network inside the ranges that never reach AWS as they are."""
    if value.version != 4:
        return value.is_private
    if isinstance(value, ipaddress.IPv4Network):
        return any(value.subnet_of(network) for network in PRIVATE)
    return any(value in network for network in PRIVATE)


def _parse(address: str):
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        return None


def _within(address: str, networks) -> bool:
    parsed = _parse(address)
    return parsed is not None and any(parsed in network for network in networks)


def _private_cidr(cidr: str) -> bool:
    try:
        return _private(ipaddress.ip_network(cidr, strict=False))
    except ValueError:
        return False


def _comparable(cidr: str, viewer: str) -> bool:
    """Whether the viewer's address as the panel sees it is the one AWS would see: a public address,
    or a private one checked against a private range. Behind a NAT the panel cannot know."""
    parsed = _parse(viewer)
    if parsed is None:
        return False
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return not _private(parsed) or _private(network)


def _admits(cidr: str, address: str) -> bool:
    try:
        return _within(address, [ipaddress.ip_network(cidr, strict=False)])
    except ValueError:
        return False
