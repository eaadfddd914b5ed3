"""Linux network namespaces for the lab: names, commands, capability, and the sweep of stale ones.

Every namespace this sandbox process creates is named ``wl<pid in hex>-<lab><role>`` (at most 15
characters), so a sandbox that starts can tell its own from those a killed one left behind.
Commands go to ``ip``, ``nft`` and ``sysctl`` inside the namespaces only: nothing here touches the
host's own network namespace.
"""

import logging
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

log = logging.getLogger("sandbox.lab")

NAME_PATTERN = re.compile(r"^wl(?P<pid>[0-9a-f]{1,6})-(?P<rest>[0-9a-z]{1,7})$")
MAX_NAME = 15
CAP_NET_ADMIN = 12
REQUIRED_TOOLS = ("ip", "nft", "ping", "unshare", "setpriv")
UNAVAILABLE = "lab unavailable: needs CAP_NET_ADMIN"
PROBE_USER = 65534  # nobody


class LabUnavailable(RuntimeError):
    """The lab cannot run here: the message says why (e.g. "lab unavailable: needs CAP_NET_ADMIN")."""


class LabCommandError(RuntimeError):
    pass


def has_net_admin() -> bool:
    """Whether this process has CAP_NET_ADMIN in its effective set."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return False
    match = re.search(r"^CapEff:\s*([0-9a-f]+)$", status, re.MULTILINE)
    return bool(match) and bool(int(match.group(1), 16) >> CAP_NET_ADMIN & 1)


def unavailable_reason() -> str | None:
    """None when the lab can run, else the reason it cannot."""
    if not has_net_admin():
        return UNAVAILABLE
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        return (
            f"lab unavailable: missing {', '.join(missing)} (apt-get install iproute2 nftables iputils-ping)"
        )
    return None


def namespace_prefix(pid: int | None = None) -> str:
    return f"wl{(pid or os.getpid()):x}-"


def run(*command: str, input_text: str | None = None, check: bool = True) -> str:
    done = subprocess.run(command, input=input_text, capture_output=True, text=True, timeout=30)
    if check and done.returncode != 0:
        raise LabCommandError(f"{' '.join(command)}: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def ip_batch(namespace: str | None, lines: list[str]) -> None:
    """Run ``ip`` commands in one process (``ip -batch``), inside ``namespace`` when given."""
    if not lines:
        return
    prefix = ("ip", "-n", namespace) if namespace else ("ip",)
    run(*prefix, "-batch", "-", input_text="\n".join(lines) + "\n")


def nft(namespace: str, ruleset: str) -> None:
    run("ip", "netns", "exec", namespace, "nft", "-f", "-", input_text=ruleset)


def sysctl(namespace: str, **values: str) -> None:
    pairs = [f"{name.replace('__', '.')}={value}" for name, value in values.items()]
    run("ip", "netns", "exec", namespace, "sysctl", "-q", "-w", *pairs)


def list_namespaces() -> list[str]:
    return [line.split()[0] for line in run("ip", "netns", "list").splitlines() if line.strip()]


def namespace_pids(namespace: str) -> list[int]:
    return [int(pid) for pid in run("ip", "netns", "pids", namespace, check=False).split()]


def delete_namespace(namespace: str) -> None:
    """Stop what runs inside (the lab's own listeners and probes), then delete the namespace."""
    for pid in namespace_pids(namespace):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    run("ip", "netns", "delete", namespace, check=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale() -> list[str]:
    """Delete lab namespaces whose sandbox process is gone; returns their names."""
    if unavailable_reason():
        return []
    swept = []
    for name in list_namespaces():
        match = NAME_PATTERN.match(name)
        if match and not _alive(int(match["pid"], 16)):
            delete_namespace(name)
            swept.append(name)
    if swept:
        log.info("swept %d stale lab namespaces: %s", len(swept), ", ".join(swept))
    return swept
