"""The sandbox's network lab: real packets between network namespaces wired from the sandbox.

Every assertion reads what crossed the lab: the probe script's own output (echo replies with
TTLs, TCP banners, UDP replies), and the listeners' logs on the receiving side.
"""

import os
import re
import subprocess
import sys

from netmodel.probes import PROBE_SCRIPT, ProbeRequest, parse_shell_commands
from netmodel.traffic import traffic_matrix
from sandbox.lab import netns
from sandbox.lab.describe import describe_vpc_network
from tests.lab.conftest import own_namespaces
from tests.lab.labkit import CASABLANCA_ZONE, build_environment


def hosts(environment) -> dict:
    return {host["key"]: host for host in environment["lab"]["hosts"]}


def listener_lines(control, environment, key: str) -> list[str]:
    return control.ok("GET", f"labs/{environment['vpc']}/listeners")["logs"][key]


def test_lab_is_listed_with_short_namespaces_of_this_process(control, environment):
    listed = control.ok("GET", "labs")
    assert listed["available"] is True
    (lab,) = [lab for lab in listed["labs"] if lab["vpc_id"] == environment["vpc"]]
    names = list(lab["namespaces"].values())
    assert all(len(name) <= 15 for name in names)
    assert all(name.startswith(f"wl{os.getpid():x}-") for name in names)
    assert sorted(own_namespaces(f"wl{os.getpid():x}-")) == sorted(names)
    instances = {h["key"]: h for h in lab["hosts"] if h["role"] == "instance"}
    assert instances[environment["wl_instance"]]["carrier_ip"] == environment["carrier_ip"]
    assert instances[environment["bastion"]]["public_ip"] == environment["bastion_public_ip"] != ""


def test_seed_bastion_to_wavelength_instance_ping_and_ssh(control, environment):
    vpc, wl_ip = environment["vpc"], environment["wl_ip"]
    ping = control.probe(vpc, environment["bastion"], "icmp", wl_ip)
    assert ping["passed"] and ping["ttl"] == 62  # two routers: the VPC router's two halves
    assert ping["rtt_ms"] > 0 and f"from {wl_ip}" in ping["output"]
    ssh = control.probe(vpc, environment["bastion"], "tcp", wl_ip, 22)
    assert ssh["passed"] and ssh["detail"] == "accepted"
    assert ssh["reply"] == f"SSH-2.0-wlpanel-lab-{environment['wl_instance']}"
    log = listener_lines(control, environment, environment["wl_instance"])
    assert any(re.search(rf"tcp 22 from {re.escape(environment['bastion_ip'])}:\d+$", line) for line in log)


def test_seed_wavelength_instance_to_internet_ping_and_http(control, environment):
    vpc = environment["vpc"]
    ping = control.probe(vpc, environment["wl_instance"], "icmp", "203.0.113.10")
    assert ping["passed"] and ping["ttl"] == 62  # the VPC router's zone half and the carrier gateway
    http = control.probe(vpc, environment["wl_instance"], "tcp", "203.0.113.10", 80)
    assert http["passed"] and http["reply"].startswith("HTTP/1.0 200 OK")
    # The internet host saw the Carrier IP, not the private address: the carrier gateway's NAT.
    log = listener_lines(control, environment, "internet")
    assert any(f"tcp 80 from {environment['carrier_ip']}:" in line for line in log)
    assert not any(environment["wl_ip"] in line for line in log)


def test_seed_internet_to_carrier_ip_ping_only(control, environment):
    vpc, carrier_ip = environment["vpc"], environment["carrier_ip"]
    ping = control.probe(vpc, "internet", "icmp", carrier_ip)
    assert ping["passed"] and ping["ttl"] == 62
    ssh = control.probe(vpc, "internet", "tcp", carrier_ip, 22)
    assert ssh == {**ssh, "passed": False, "detail": "timeout"}  # filtered by the carrier gateway
    udp = control.probe(vpc, "internet", "udp", carrier_ip, 53)
    assert udp["passed"] is False and udp["detail"] == "no reply (silence)"
    log = listener_lines(control, environment, environment["wl_instance"])
    assert not any("from 203.0.113.10" in line for line in log)  # nothing reached the instance


def test_carrier_devices(control, environment):
    vpc, carrier_ip = environment["vpc"], environment["carrier_ip"]
    udp = control.probe(vpc, "carrier-metro", "udp", carrier_ip, 53)
    assert udp["passed"] and re.fullmatch(rf"{environment['wl_instance']} udp 53 ttl=62", udp["reply"])
    tcp = control.probe(vpc, "carrier-metro", "tcp", carrier_ip, 443)
    assert tcp["passed"] and tcp["detail"] == "accepted"
    other = control.probe(vpc, "carrier-other", "icmp", carrier_ip)
    assert other["passed"] is False  # other carriers cannot reach the zone
    out = control.probe(vpc, environment["wl_instance"], "udp", "100.64.10.10", 53)
    assert out["passed"] and out["reply"] == "carrier-metro udp 53 ttl=62"
    log = listener_lines(control, environment, environment["wl_instance"])
    assert any(re.search(r"udp 53 from 100\.64\.10\.10:\d+ ttl=62$", line) for line in log)


def test_path_mtu_is_measured_per_link(control, environment):
    vpc = environment["vpc"]
    region = control.probe(vpc, environment["wl_instance"], "mtu", environment["bastion_ip"], 9001)
    carrier = control.probe(vpc, environment["wl_instance"], "mtu", "100.64.10.10", 9001)
    inside = control.probe(vpc, environment["wl_instance"], "mtu", "10.0.0.1", 9001)
    assert (region["mtu"], carrier["mtu"], inside["mtu"]) == (1300, 1500, 9001)
    assert (
        environment["lab"]["mtu"]["region_zone"] == 1300
        and "region_zone" in environment["lab"]["mtu_unconfirmed"]
    )


def test_faults_reach_the_data_plane_and_clear(control, environment):
    vpc, wl = environment["vpc"], environment["wl_instance"]
    try:
        control.ok("POST", f"labs/{vpc}/faults", {"kind": "blackhole-carrier-gateway"})
        assert control.probe(vpc, wl, "icmp", "203.0.113.10")["passed"] is False
        assert control.probe(vpc, "carrier-metro", "tcp", environment["carrier_ip"], 22)["passed"] is False
        assert control.probe(vpc, environment["bastion"], "tcp", environment["wl_ip"], 22)["passed"]
        control.ok(
            "POST", f"labs/{vpc}/faults", {"kind": "break-security-rule", "group_id": environment["wl_sg"]}
        )
        assert control.probe(vpc, environment["bastion"], "tcp", environment["wl_ip"], 22)["passed"] is False
        faults = control.ok("GET", f"labs/{vpc}")["faults"]
        assert [f["kind"] for f in faults] == ["blackhole-carrier-gateway", "break-security-rule"]
    finally:
        control.ok("DELETE", f"labs/{vpc}/faults")
    assert control.ok("GET", f"labs/{vpc}")["faults"] == []
    assert control.probe(vpc, wl, "icmp", "203.0.113.10")["passed"]
    assert control.probe(vpc, environment["bastion"], "tcp", environment["wl_ip"], 22)["passed"]


def test_dropped_route(control, environment):
    vpc, wl = environment["vpc"], environment["wl_instance"]
    try:
        control.ok(
            "POST", f"labs/{vpc}/faults", {"kind": "drop-route", "subnet_id": environment["wl_subnet"]}
        )
        dropped = control.probe(vpc, wl, "tcp", "203.0.113.10", 80)
        assert dropped["passed"] is False and dropped["detail"].startswith("not reached")  # ICMP unreachable
        assert control.probe(vpc, wl, "icmp", environment["bastion_ip"])["passed"]  # the local route stays
    finally:
        control.ok("DELETE", f"labs/{vpc}/faults")


def test_probes_run_as_nobody_without_capabilities_in_their_own_pid_namespace(environment, sandbox_server):
    lab = sandbox_server.runtime.labs.get(environment["vpc"])
    report = (
        "import os; status = open('/proc/self/status').read(); "
        "print(os.getuid(), os.getpid(), open('/proc/1/cmdline').read().split(chr(0))[0]); print(status)"
    )
    done = subprocess.run(
        [*lab.isolated(environment["wl_instance"]), sys.executable, "-I", "-S", "-c", report],
        capture_output=True,
        text=True,
        check=True,
    )
    first, status = done.stdout.split("\n", 1)
    uid, pid, init = first.split()
    assert (uid, pid) == ("65534", "1")  # nobody, and PID 1 of a PID namespace of its own
    assert init == sys.executable
    assert re.search(r"^CapEff:\s+0+$", status, re.MULTILINE)
    assert re.search(r"^NoNewPrivs:\s+1$", status, re.MULTILINE)
    addresses = subprocess.run(
        [*lab.isolated(environment["wl_instance"]), "ip", "-4", "-o", "addr"], capture_output=True, text=True
    ).stdout
    assert f"inet {environment['wl_ip']}/24" in addresses  # the instance's namespace, not the host's


def test_bad_requests(control, environment):
    vpc = environment["vpc"]
    status, answer = control.call(
        "POST", f"labs/{vpc}/probe", {"from": "internet", "mode": "sh", "target": "1.2.3.4"}
    )
    assert status == 400 and "unknown probe mode" in answer["detail"]
    status, answer = control.call("POST", f"labs/{vpc}/faults", {"kind": "unplug-everything"})
    assert status == 400 and "unknown fault kind" in answer["detail"]
    status, answer = control.call("POST", "labs", {"vpc_id": "vpc-0000000000000000f"})
    assert status == 404


def test_only_the_product_script_is_allowed():
    request = ProbeRequest("tcp", "10.0.0.4", 22, 2)
    assert parse_shell_commands(request.shell_commands()) == request
    tampered = request.shell_commands()
    tampered[3] = tampered[3] + "; import os; os.system('id')"
    assert parse_shell_commands(tampered) is None
    assert parse_shell_commands(["id"]) is None
    injected = [
        request.shell_commands()[0].replace("10.0.0.4", "10.0.0.4;id"),
        *PROBE_SCRIPT.splitlines(),
        "WLPROBE",
    ]
    assert parse_shell_commands(injected) is None


def test_casablanca_lets_tcp_in_from_the_internet(control, sandbox_server, environment):
    built = build_environment(control.url, CASABLANCA_ZONE)  # beside the shared one, in eu-west-3
    try:
        lab = control.ok("POST", "labs", {"vpc_id": built["vpc"]})
        assert lab["casablanca"] is True
        # Predicted by the matrix from the same sandbox state, and observed with real packets.
        with sandbox_server.runtime.moto_lock:
            network, _ = describe_vpc_network(built["vpc"])
        rows = {(r.source, r.destination, r.protocol): r for r in traffic_matrix(network)}
        assert rows[("internet", "wavelength-instance", "tcp")].allowed
        ssh = control.probe(built["vpc"], "internet", "tcp", built["carrier_ip"], 22)
        assert ssh["passed"] and ssh["detail"] == "accepted"
        udp = control.probe(built["vpc"], "internet", "udp", built["carrier_ip"], 53)
        assert udp["passed"]
    finally:
        control.call("DELETE", f"labs/{built['vpc']}")


def test_stale_namespaces_of_a_dead_sandbox_are_swept():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = f"wl{dead.pid:x}-1r"
    subprocess.run(["ip", "netns", "add", stale], check=True)
    try:
        assert stale in netns.sweep_stale()
        assert stale not in own_namespaces(stale)
    finally:
        subprocess.run(["ip", "netns", "delete", stale], capture_output=True)


def test_without_cap_net_admin_the_lab_says_so():
    code = "from sandbox.lab.netns import unavailable_reason; print(unavailable_reason())"
    done = subprocess.run(
        ["setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    assert done.stdout.strip() == "lab unavailable: needs CAP_NET_ADMIN"


def test_lab_control_answers_503_without_cap_net_admin(control, monkeypatch):
    monkeypatch.setattr(netns, "has_net_admin", lambda: False)
    status, answer = control.call("POST", "labs", {"vpc_id": "vpc-1"})
    assert (status, answer["detail"]) == (503, "lab unavailable: needs CAP_NET_ADMIN")
    listed = control.ok("GET", "labs")
    assert listed["available"] is False and listed["reason"] == "lab unavailable: needs CAP_NET_ADMIN"
