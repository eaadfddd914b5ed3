"""The connectivity probes: one script, the command that runs it, and the ports it probes.

A probe is one packet exchange from where the script runs to (target, port): ``icmp`` (ping),
``tcp`` (connect; port 80 also sends an HTTP GET), ``udp`` (a datagram, then wait for a reply)
or ``mtu`` (the largest packet that crosses the path with Don't Fragment set). The script is
plain Python 3 with the standard library and ``ping``: the panel sends it to instances through
SSM Run Command (``AWS-RunShellScript``) and runs it on its own host; the sandbox's SSM runs it,
and only it, inside the lab. Verdicts (issue 16): TCP accepted or refused (RST) = through,
timeout = filtered; ICMP echo reply = through; UDP: a reply (or an ICMP port unreachable) =
through, silence = filtered.

Pure: no Django, no AWS. The sandbox and the panel both read this module, so they agree on
exactly which script is allowed.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from dataclasses import dataclass

from .network import Network

MODES = ("icmp", "tcp", "udp", "mtu")
MAX_TIMEOUT = 10.0
HEREDOC_END = "WLPROBE"
PROBE_INTERPRETER = "python3"

# The probe script. Its output is one JSON line:
# {"mode", "target", "port", "passed", "detail", "rtt_ms"?, "ttl"?, "reply"?, "mtu"?, "output"?}
PROBE_SCRIPT = r"""import json, re, socket, subprocess, sys, time
mode, target, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
result = {"mode": mode, "target": target, "port": port}
def finish(passed, detail, **extra):
    result.update(passed=passed, detail=detail, **extra)
    print(json.dumps(result))
    sys.exit(0)
def ms(start):
    return round((time.monotonic() - start) * 1000, 3)
def ping(size=None, count=3):
    command = ["ping", "-n", "-c", str(count), "-i", "0.2", "-W", str(max(1, int(timeout)))]
    if size is not None:
        command += ["-M", "do", "-s", str(size - 28)]
    done = subprocess.run(command + [target], capture_output=True, text=True, timeout=count * timeout + 5)
    return done.stdout + done.stderr
if mode == "tcp":
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    client.settimeout(timeout)
    start = time.monotonic()
    try:
        client.connect((target, port))
    except ConnectionRefusedError:
        finish(True, "refused (RST)", rtt_ms=ms(start))
    except (socket.timeout, TimeoutError):
        finish(False, "timeout")
    except OSError as error:
        finish(False, "not reached: " + (error.strerror or str(error)))
    rtt = ms(start)
    if port == 80:
        client.sendall(b"GET / HTTP/1.0\r\nHost: " + target.encode() + b"\r\n\r\n")
    try:
        reply = client.recv(512).decode("utf-8", "replace")
    except OSError:
        reply = ""
    finish(True, "accepted", rtt_ms=rtt, reply=reply.strip()[:300])
if mode == "udp":
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.settimeout(timeout)
    client.connect((target, port))
    start = time.monotonic()
    client.send(b"wlprobe\n")
    try:
        reply = client.recv(512).decode("utf-8", "replace")
    except ConnectionRefusedError:
        finish(True, "ICMP port unreachable", rtt_ms=ms(start))
    except (socket.timeout, TimeoutError):
        finish(False, "no reply (silence)")
    except OSError as error:
        finish(False, "not reached: " + (error.strerror or str(error)))
    finish(True, "reply", rtt_ms=ms(start), reply=reply.strip()[:300])
if mode == "icmp":
    output = ping()
    ttls = [int(t) for t in re.findall(r"ttl=(\d+)", output)]
    times = [float(t) for t in re.findall(r"time=([\d.]+) ms", output)]
    if ttls:
        finish(True, "%d/3 echo replies" % len(ttls), ttl=ttls[0], rtt_ms=min(times), output=output[-600:])
    finish(False, "no echo reply", output=output[-600:])
if mode == "mtu":
    low, high = 576, port
    if "ttl=" not in ping(low, count=1):
        finish(False, "no reply even at %d bytes" % low)
    while low < high:
        size = (low + high + 1) // 2
        if "ttl=" in ping(size, count=1):
            low = size
        else:
            high = size - 1
    finish(True, "path MTU %d bytes" % low, mtu=low)
finish(False, "unknown mode " + mode)
"""

_FIRST_LINE = re.compile(
    rf"^{PROBE_INTERPRETER} - (?P<mode>icmp|tcp|udp|mtu) (?P<target>\d{{1,3}}(?:\.\d{{1,3}}){{3}}) "
    rf"(?P<port>\d{{1,5}}) (?P<timeout>\d{{1,2}}(?:\.\d{{1,3}})?) <<'{HEREDOC_END}'$"
)


@dataclass(frozen=True)
class ProbeRequest:
    """One probe: what the script is asked to do. ``port`` is the largest size tried for ``mtu``."""

    mode: str
    target: str
    port: int = 0
    timeout: float = 2.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown probe mode {self.mode!r}")
        ipaddress.IPv4Address(self.target)  # raises ValueError for anything but an IPv4 address
        if not 0 <= self.port <= 65535 or (self.mode in ("tcp", "udp") and self.port == 0):
            raise ValueError(f"bad port {self.port}")
        if self.mode == "mtu" and not 576 <= self.port <= 9001:
            raise ValueError("mtu probes try sizes from 576 to at most 9001 bytes")
        if not 0 < self.timeout <= MAX_TIMEOUT:
            raise ValueError(f"the timeout must be in (0, {MAX_TIMEOUT:g}] seconds")

    @property
    def arguments(self) -> list[str]:
        return [self.mode, self.target, str(self.port), f"{self.timeout:g}"]

    def shell_commands(self) -> list[str]:
        """The ``commands`` parameter of AWS-RunShellScript: the script fed to python3 on stdin."""
        first = f"{PROBE_INTERPRETER} - {' '.join(shlex.quote(a) for a in self.arguments)} <<'{HEREDOC_END}'"
        return [first, *PROBE_SCRIPT.splitlines(), HEREDOC_END]

    def shell_line(self) -> str:
        """The same as one shell command, to run by hand (e.g. from a device on the carrier network)."""
        return "\n".join(self.shell_commands())


def parse_shell_commands(commands: list[str]) -> ProbeRequest | None:
    """The probe that `commands` runs when they are exactly the product's script, else None.

    The sandbox's allow-list: anything else, even the script with one character changed, is None.
    """
    lines = "\n".join(commands).split("\n")
    if len(lines) < 3 or lines[-1] != HEREDOC_END or lines[1:-1] != PROBE_SCRIPT.splitlines():
        return None
    match = _FIRST_LINE.match(lines[0])
    if match is None:
        return None
    try:
        return ProbeRequest(match["mode"], match["target"], int(match["port"]), float(match["timeout"]))
    except ValueError:
        return None


def read_probe_output(text: str) -> dict | None:
    """The script's JSON result from its standard output (the last JSON line), or None."""
    for line in reversed((text or "").strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict) and "passed" in value:
            return value
    return None


# --- Which ports are probed ------------------------------------------------------------------------

BASE_TCP_PORTS = (22, 80, 443)  # SSH (the seed's check), HTTP and HTTPS to the internet
BASE_UDP_PORTS = (53,)
MAX_EXTRA_PORTS = 6


@dataclass(frozen=True)
class ProbePorts:
    tcp: tuple[int, ...]
    udp: tuple[int, ...]


def probe_ports(network: Network) -> ProbePorts:
    """The ports probed in an environment: the base ones and the ports its security groups open.

    A rule opening a range is probed at its first port; at most MAX_EXTRA_PORTS extra per protocol.
    """
    extra: dict[str, list[int]] = {"tcp": [], "udp": []}
    for group in network.security_groups:
        for rule in group.ingress:
            if rule.protocol in extra and not rule.ports.is_all:
                for low, _high in rule.ports.ranges:
                    if low and low not in extra[rule.protocol]:
                        extra[rule.protocol].append(low)
    return ProbePorts(
        tcp=tuple(sorted(set(BASE_TCP_PORTS) | set(sorted(extra["tcp"])[:MAX_EXTRA_PORTS]))),
        udp=tuple(sorted(set(BASE_UDP_PORTS) | set(sorted(extra["udp"])[:MAX_EXTRA_PORTS]))),
    )
