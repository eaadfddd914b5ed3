"""The environment's diagram: nodes and access paths as data, and that data drawn as SVG.

Drawn as the seed's diagrams are: the region containing the VPC; inside it the parent
Availability Zone (public subnet, bastion, internet gateway) and the Wavelength Zone (Wavelength
subnet, instance, Carrier IP, carrier gateway on its edge); outside, the internet and the carrier
network. Access paths are styled by the traffic matrix. Pure and deterministic: the same network
always gives the same SVG, with no JavaScript and every label escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from .network import Network, Subnet
from .traffic import (
    CARRIER_METRO,
    CARRIER_OTHER,
    INTERNET,
    OTHER_WAVELENGTH_ZONE,
    PROTOCOLS,
    REGION_SUBNET,
    WAVELENGTH_INSTANCE,
    TrafficRow,
    traffic_matrix,
)

PRESENT, PENDING, MISSING = "present", "pending", "missing"
ALLOWED, PARTIAL, DENIED = "allowed", "partial", "denied"  # an access path's status, or PENDING


# --- The summary: nodes, links and access paths as plain data ---------------------------------------


def topology_summary(network: Network, *, matrix: list[TrafficRow] | None = None) -> list[dict]:
    """The diagram as data: nodes, then links (what is wired to what), then access paths.

    Node: {"kind": "node", "id", "label", "detail", "parent", "role", "state"}; `state` is
    "present", "pending" (planned, not described yet) or "missing" (neither). Optional parts
    (public subnet, bastion, internet gateway) appear only when present or pending.
    Link: {"kind": "link", "id", "source", "target"}.
    Access path: {"kind": "edge", "id", "source", "target", "via", "direction", "allowed",
    "status", "label"}; `direction` is "in" or "out" as seen from the Wavelength instance,
    `status` "allowed" (everything), "partial", "denied" or "pending".
    """
    matrix = traffic_matrix(network) if matrix is None else matrix
    nodes = _nodes(network)
    states = {node["id"]: node["state"] for node in nodes}
    return nodes + _links(states) + _access_paths(matrix, states)


def _node(
    node_id: str, label: str, detail: str = "", *, parent: str | None, role: str, state: str = PRESENT
) -> dict:
    return {
        "kind": "node",
        "id": node_id,
        "label": label,
        "detail": detail,
        "parent": parent,
        "role": role,
        "state": state,
    }


def _state(described: object, key: str, network: Network) -> str:
    if described:
        return PRESENT
    return PENDING if key in network.pending else MISSING


def _nodes(network: Network) -> list[dict]:
    zone, vpc = network.zone, network.vpc
    vpc_detail = f"{vpc.vpc_id} · {vpc.cidr}" if vpc else ""
    carrier = " · ".join(part for part in (zone.carrier, zone.metro) if part)
    nodes = [
        _node("region", f"Region {zone.region}", parent=None, role="container"),
        _node("vpc", "VPC", vpc_detail, parent="region", role="container", state=_state(vpc, "vpc", network)),
        *_regional_nodes(network),
        *_wavelength_nodes(network),
        _node("internet", "Internet", parent=None, role="outside"),
        _node("carrier-network", "Carrier network", carrier, parent=None, role="outside"),
        _node("other-carriers", "Other metros & carriers", parent=None, role="outside"),
    ]
    if network.other_zone_subnets:
        others = ", ".join(sorted({s.availability_zone for s in network.other_zone_subnets}))
        nodes.append(
            _node("other-wavelength-zone", "Other Wavelength Zone", others, parent="vpc", role="zone")
        )
    return nodes


def _regional_nodes(network: Network) -> list[dict]:
    """The parent AZ's side, when its subnet exists or is planned (environments without a bastion have none)."""
    subnet, bastion, gateway = network.regional_subnet, network.bastion, network.internet_gateway
    if not subnet and "public_subnet" not in network.pending:
        return []
    nodes = [
        _node("region-az", "Availability Zone", subnet.availability_zone if subnet else network.zone.parent_zone_name,
              parent="vpc", role="container"),
        _node("public-subnet", "Public subnet", _subnet_detail(subnet), parent="region-az", role="subnet",
              state=_state(subnet, "public_subnet", network)),
    ]  # fmt: skip
    if bastion or "bastion" in network.pending:
        addresses = (
            [bastion.private_ip, f"public {bastion.public_ip}" if bastion.public_ip else ""]
            if bastion
            else []
        )
        nodes.append(_node("bastion", "Bastion", " · ".join(a for a in addresses if a), parent="public-subnet",
                           role="instance", state=_state(bastion, "bastion", network)))  # fmt: skip
    if gateway or "internet_gateway" in network.pending:
        nodes.append(_node("internet-gateway", "Internet gateway", gateway.gateway_id if gateway else "",
                           parent="vpc", role="gateway", state=_state(gateway, "internet_gateway", network)))  # fmt: skip
    return nodes


def _wavelength_nodes(network: Network) -> list[dict]:
    subnet, instance, gateway = (
        network.wavelength_subnet,
        network.wavelength_instance,
        network.carrier_gateway,
    )
    carrier_ip = network.carrier_ip_of(instance) if instance else ""
    instance_detail = ""
    if instance:
        running = "" if instance.state in ("running", "") else f" ({instance.state})"
        instance_detail = f"{instance.instance_id} · {instance.private_ip}{running}"
    return [
        _node("wavelength-zone", "Wavelength Zone", network.zone.name, parent="vpc", role="container"),
        _node("wavelength-subnet", "Wavelength subnet", _subnet_detail(subnet), parent="wavelength-zone",
              role="subnet", state=_state(subnet, "wavelength_subnet", network)),
        _node("wavelength-instance", "Instance", instance_detail, parent="wavelength-subnet", role="instance",
              state=_state(instance, "wavelength_instance", network)),
        _node("carrier-ip", "Carrier IP", carrier_ip, parent="wavelength-subnet", role="address",
              state=_state(carrier_ip, "carrier_ip", network)),
        _node("carrier-gateway", "Carrier gateway", gateway.gateway_id if gateway else "", parent="vpc",
              role="gateway", state=_state(gateway, "carrier_gateway", network)),
    ]  # fmt: skip


def _subnet_detail(subnet: Subnet | None) -> str:
    return f"{subnet.cidr} · {subnet.subnet_id}" if subnet else ""


def _links(states: dict[str, str]) -> list[dict]:
    wiring = [
        ("public-subnet", "internet-gateway"),
        ("internet-gateway", "internet"),
        ("carrier-ip", "carrier-gateway"),
    ]
    return [
        {"kind": "link", "id": f"{source}-{target}", "source": source, "target": target}
        for source, target in wiring
        if source in states and target in states
    ]


def _access_paths(matrix: list[TrafficRow], states: dict[str, str]) -> list[dict]:
    regional = "bastion" if "bastion" in states else "public-subnet"
    peers = [
        (REGION_SUBNET, regional, ()),
        (INTERNET, "internet", ("carrier-gateway",)),
        (CARRIER_METRO, "carrier-network", ("carrier-gateway",)),
        (CARRIER_OTHER, "other-carriers", ("carrier-gateway",)),
        (OTHER_WAVELENGTH_ZONE, "other-wavelength-zone", ()),
    ]
    paths = []
    for endpoint, node_id, via in peers:
        if node_id not in states:
            continue
        path_pending = any(states.get(n) == PENDING for n in (node_id, WAVELENGTH_INSTANCE, *via))
        for direction, source, target in (
            ("in", endpoint, WAVELENGTH_INSTANCE),
            ("out", WAVELENGTH_INSTANCE, endpoint),
        ):
            rows = [r for r in matrix if (r.source, r.destination) == (source, target)]
            reverse = [r for r in matrix if (r.source, r.destination) == (target, source)]
            status, label = (
                (PENDING, "pending") if path_pending else _status_and_label(rows, reverse, direction)
            )
            paths.append({
                "kind": "edge",
                "id": f"{source}-to-{target}",
                "source": node_id if direction == "in" else WAVELENGTH_INSTANCE,
                "target": WAVELENGTH_INSTANCE if direction == "in" else node_id,
                "via": list(via),
                "direction": direction,
                "allowed": [r.protocol for r in rows if r.allowed],
                "status": status,
                "label": label,
            })  # fmt: skip
    return paths


def _status_and_label(rows: list[TrafficRow], reverse: list[TrafficRow], direction: str) -> tuple[str, str]:
    """("allowed", "all"), ("partial", "ICMP only"), ("partial", "TCP out + responses, ICMP"), ..."""
    allowed = sorted((r for r in rows if r.allowed), key=lambda r: PROTOCOLS.index(r.protocol))
    if not allowed:
        return DENIED, "denied"
    if len(allowed) == len(PROTOCOLS) and all(r.ports is None for r in allowed):
        return ALLOWED, "all"
    if [r.protocol for r in allowed] == ["icmp"]:
        return PARTIAL, "ICMP only"
    tcp_in_denied = any(r.protocol == "tcp" and not r.allowed for r in reverse)
    parts = []
    for row in allowed:
        part = row.protocol.upper() + (f" {', '.join(row.ports)}" if row.ports else "")
        if row.protocol == "tcp" and direction == "out" and tcp_in_denied:
            part = "TCP out + responses"  # the stateful answer to what cannot come in on its own
        parts.append(part)
    return PARTIAL, ", ".join(parts)


# --- The drawing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    w: int
    h: int

    @property
    def cx(self) -> int:
        return self.x + self.w // 2

    @property
    def cy(self) -> int:
        return self.y + self.h // 2

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h


ZONE_TOP, ZONE_HEIGHT = 100, 250
AZ_WIDTH, WLZ_WIDTH, OTHER_ZONE_WIDTH, GAP = 300, 340, 220, 40
OTHER_ZONE_GAP = 120  # room for the two denied paths' labels
OUTSIDE_TOP, OUTSIDE_WIDTH, OUTSIDE_HEIGHT, OUTSIDE_GAP = 500, 230, 56, 80
BUS_Y = 450  # where paths leaving the carrier gateway turn towards their outside node
LANE = 6  # half the distance between a path's two directions
# Average character widths (px) per text class, to shorten text that would overflow its box.
CHAR_WIDTHS = {"title": 7.4, "container-title": 7.0, "detail": 6.2, "label": 6.6}

STYLE = """
text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; fill: #1e293b; }
.title { font-size: 13px; font-weight: 600; }
.detail { font-size: 11.5px; fill: #475569; }
.container-title { font-size: 12px; font-weight: 600; fill: #334155; }
.region { fill: #f8fafc; stroke: #64748b; stroke-width: 1.5; }
.vpc { fill: #eff6ff; stroke: #2563eb; stroke-width: 1.5; }
.zone { fill: #ffffff; stroke: #64748b; stroke-dasharray: 6 4; }
.wavelength-zone { fill: #faf5ff; stroke: #7e22ce; stroke-dasharray: 6 4; }
.subnet { fill: #f0fdf4; stroke: #16a34a; }
.instance { fill: #ffffff; stroke: #ea580c; stroke-width: 1.5; }
.address { fill: #fff7ed; stroke: #ea580c; }
.gateway { fill: #fefce8; stroke: #a16207; stroke-width: 1.5; }
.outside { fill: #f1f5f9; stroke: #475569; stroke-width: 1.5; }
.pending > rect, .missing > rect { fill: #f3f4f6; stroke: #9ca3af; stroke-dasharray: 4 3; }
.pending text, .missing text { fill: #6b7280; }
.link { stroke: #94a3b8; stroke-width: 2; fill: none; }
.path { fill: none; stroke-width: 2; }
.path.allowed { stroke: #15803d; }
.path.partial { stroke: #d97706; stroke-dasharray: 8 4; }
.path.denied { stroke: #dc2626; stroke-dasharray: 2 4; }
.path.pending { stroke: #9ca3af; stroke-dasharray: 4 4; }
.head.allowed { fill: #15803d; } .head.partial { fill: #d97706; } .head.denied { fill: #dc2626; } .head.pending { fill: #9ca3af; }
.label { font-size: 11px; font-weight: 600; paint-order: stroke; stroke: #ffffff; stroke-width: 4px; stroke-linejoin: round; }
.label.allowed { fill: #166534; } .label.partial { fill: #b45309; } .label.denied { fill: #b91c1c; } .label.pending { fill: #6b7280; }
.legend { font-size: 11px; fill: #475569; }
"""


def topology_svg(network: Network, *, matrix: list[TrafficRow] | None = None) -> str:
    """The diagram as a standalone SVG string (role="img", a <title>, CSS classes, no script)."""
    items = topology_summary(network, matrix=matrix)
    nodes = {item["id"]: item for item in items if item["kind"] == "node"}
    boxes = _layout(nodes)
    width = max(box.right for box in boxes.values()) + 20
    height = OUTSIDE_TOP + OUTSIDE_HEIGHT + 60
    title = f"Network of the Wavelength environment in {network.zone.name}"
    summary = "; ".join(f"{item['id']}: {item['label']}" for item in items if item["kind"] == "edge")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'role="img" aria-labelledby="topology-title topology-desc">',
        f'<title id="topology-title">{escape(title)}</title>',
        f'<desc id="topology-desc">{escape(summary)}</desc>',
        f"<style>{STYLE}</style>",
        _markers(),
    ]
    parts += [_draw_node(node, boxes[node["id"]]) for node in nodes.values() if node["role"] != "gateway"]
    parts += [_draw_link(item, boxes) for item in items if item["kind"] == "link"]
    parts += [_draw_path(item, boxes) for item in items if item["kind"] == "edge"]
    # Gateways last: they sit on box edges, over the lines that pass through them.
    parts += [_draw_node(node, boxes[node["id"]]) for node in nodes.values() if node["role"] == "gateway"]
    parts.append(_legend(height - 22))
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _layout(nodes: dict[str, dict]) -> dict[str, Box]:
    """Columns inside the VPC (parent AZ, Wavelength Zone, other zone); the outside row below,
    centred under the carrier gateway (the whole drawing moves right when the row needs room)."""
    outside_row = 3 * OUTSIDE_WIDTH + 2 * OUTSIDE_GAP
    has_az = "region-az" in nodes
    gateway_x = 60 + (AZ_WIDTH + GAP if has_az else 0) + WLZ_WIDTH // 2
    x = 60 + max(0, 20 + outside_row // 2 - gateway_x)
    left = x - 40
    boxes: dict[str, Box] = {}
    if has_az:
        boxes["region-az"] = Box(x, ZONE_TOP, AZ_WIDTH, ZONE_HEIGHT)
        boxes["public-subnet"] = Box(x + 20, ZONE_TOP + 40, AZ_WIDTH - 40, 180)
        boxes["bastion"] = Box(x + 40, ZONE_TOP + 90, AZ_WIDTH - 80, 56)
        x += AZ_WIDTH + GAP
    wavelength_zone = boxes["wavelength-zone"] = Box(x, ZONE_TOP, WLZ_WIDTH, ZONE_HEIGHT)
    boxes["wavelength-subnet"] = Box(x + 20, ZONE_TOP + 40, WLZ_WIDTH - 40, 180)
    boxes["wavelength-instance"] = Box(x + 40, ZONE_TOP + 90, WLZ_WIDTH - 80, 56)
    boxes["carrier-ip"] = Box(x + 70, ZONE_TOP + 154, WLZ_WIDTH - 140, 44)
    x += WLZ_WIDTH
    if "other-wavelength-zone" in nodes:
        x += OTHER_ZONE_GAP
        boxes["other-wavelength-zone"] = Box(x, ZONE_TOP, OTHER_ZONE_WIDTH, ZONE_HEIGHT)
        x += OTHER_ZONE_WIDTH
    boxes["vpc"] = Box(left + 20, 60, x + 20 - (left + 20), ZONE_TOP + ZONE_HEIGHT + 40 - 60)
    boxes["region"] = Box(left, 20, boxes["vpc"].w + 40, boxes["vpc"].bottom + 30 - 20)
    gateway = boxes["carrier-gateway"] = Box(wavelength_zone.cx - 80, wavelength_zone.bottom - 20, 160, 40)
    if has_az:
        boxes["internet-gateway"] = Box(boxes["region-az"].cx - 75, boxes["vpc"].bottom - 20, 150, 40)
    for index, node_id in enumerate(("internet", "carrier-network", "other-carriers")):
        row_x = gateway.cx - outside_row // 2 + index * (OUTSIDE_WIDTH + OUTSIDE_GAP)
        boxes[node_id] = Box(row_x, OUTSIDE_TOP, OUTSIDE_WIDTH, OUTSIDE_HEIGHT)
    return boxes


def _fit(text: str, width: int, css_class: str) -> str:
    """Shorten text that would overflow `width` pixels, with an ellipsis."""
    room = max(1, int(width / CHAR_WIDTHS[css_class]))
    return text if len(text) <= room else text[: room - 1] + "…"


def _draw_node(node: dict, box: Box) -> str:
    """A box with its label: containers and subnets at the top left, the rest centred."""
    role, state = node["role"], node["state"]
    label = node["label"] + ("" if state == PRESENT else f" ({state})")
    detail = node["detail"] if state == PRESENT else ""
    css = _container_class(node["id"]) if role == "container" else role
    rect = f'<rect class={quoteattr(css)} x="{box.x}" y="{box.y}" width="{box.w}" height="{box.h}" rx="6"/>'
    if role == "container":
        lines = [("container-title", box.x + 10, box.y + 18, "start", f"{label} {detail}".strip())]
    elif role == "subnet":
        lines = [("container-title", box.x + 10, box.y + 18, "start", label)]
        lines += [("detail", box.x + 10, box.y + 34, "start", detail)] if detail else []
    else:
        lines = [("title", box.cx, box.cy + (-3 if detail else 5), "middle", label)]
        lines += [("detail", box.cx, box.cy + 13, "middle", detail)] if detail else []
    texts = "".join(
        f'<text class="{css_class}" x="{x}" y="{y}" text-anchor="{anchor}">{escape(_fit(text, box.w - 16, css_class))}</text>'
        for css_class, x, y, anchor, text in lines
    )
    group_class = "node" if state == PRESENT else f"node {state}"
    return f"<g class={quoteattr(group_class)} data-node={quoteattr(node['id'])}>{rect}{texts}</g>"


def _container_class(node_id: str) -> str:
    return {"region": "region", "vpc": "vpc", "wavelength-zone": "wavelength-zone"}.get(node_id, "zone")


def _draw_link(link: dict, boxes: dict[str, Box]) -> str:
    """A wire straight down from the source to the target, with an elbow if they are not aligned."""
    source, target = boxes[link["source"]], boxes[link["target"]]
    middle = (source.bottom + target.y) // 2
    points = [(source.cx, source.bottom), (source.cx, middle), (target.cx, middle), (target.cx, target.y)]
    if source.cx == target.cx or target.x <= source.cx <= target.right:
        points = [(source.cx, source.bottom), (source.cx, target.y)]
    return f'<polyline class="link" points="{" ".join(f"{x},{y}" for x, y in points)}"/>'


def _route(edge: dict, boxes: dict[str, Box]) -> list[tuple[int, int]]:
    """The path from the Wavelength instance's side to the peer, as axis-aligned points."""
    peer_id = edge["source"] if edge["direction"] == "in" else edge["target"]
    peer = boxes[peer_id]
    if peer_id in ("bastion", "public-subnet"):
        instance = boxes["wavelength-instance"]
        return [(instance.x, instance.cy), (peer.right, instance.cy)]
    if peer_id == "other-wavelength-zone":
        zone = boxes["wavelength-zone"]
        return [(zone.right, zone.cy), (peer.x, zone.cy)]
    gateway = boxes["carrier-gateway"]
    # Each peer leaves the gateway at its own point, so the paths never share a segment.
    exits = {"internet": gateway.x + 12, "carrier-network": gateway.cx, "other-carriers": gateway.right - 12}
    start_x, end_x = exits[peer_id], peer.cx
    if start_x == end_x:
        return [(start_x, gateway.bottom), (end_x, peer.y)]
    return [(start_x, gateway.bottom), (start_x, BUS_Y), (end_x, BUS_Y), (end_x, peer.y)]


def _offset(points: list[tuple[int, int]], distance: int) -> list[tuple[int, int]]:
    """The polyline moved `distance` to the right of its direction of travel (lanes never cross)."""
    normals = []
    for (x1, y1), (x2, y2) in zip(points, points[1:], strict=False):
        normals.append((-_sign(y2 - y1) * distance, _sign(x2 - x1) * distance))
    moved = []
    for index, (x, y) in enumerate(points):
        around = normals[max(0, index - 1) : index + 1]  # the one or two segments meeting here
        moved.append((x + sum(n[0] for n in around), y + sum(n[1] for n in around)))
    return moved


def _draw_path(edge: dict, boxes: dict[str, Box]) -> str:
    points = _route(edge, boxes)
    if edge["direction"] == "in":
        points = points[::-1]
    lane = _offset(points, LANE)
    status = edge["status"]
    drawn = " ".join(f"{x},{y}" for x, y in lane)
    line = (
        f"<polyline class={quoteattr('path ' + status)} points={quoteattr(drawn)} "
        f"marker-end={quoteattr(f'url(#topology-arrow-{status})')}/>"
    )
    return f"<g data-edge={quoteattr(edge['id'])}>{line}{_path_label(edge, lane)}</g>"


def _path_label(edge: dict, lane: list[tuple[int, int]]) -> str:
    """The label beside the lane, on its outer side: a lane runs on the right of its direction of
    travel, so its right is away from the other lane.

    It goes by the lane's horizontal run if it has one (where lanes are far apart), else beside
    its end at the peer (below where other paths turn).
    """
    segments = list(zip(lane, lane[1:], strict=False))
    horizontal = [(a, b) for a, b in segments if a[1] == b[1]]
    if horizontal:
        (x1, y1), (x2, y2) = max(horizontal, key=lambda ab: abs(ab[1][0] - ab[0][0]))
        middle = ((x1 + x2) // 2, y1)
    else:
        (x1, y1), (x2, y2) = segments[-1] if edge["direction"] == "out" else segments[0]
        middle = (x1, max(y1, y2) - 18)
    right_x, right_y = -_sign(y2 - y1), _sign(x2 - x1)
    x, y = middle[0] + 8 * right_x, middle[1] + 8 * right_y
    anchor = {-1: "end", 0: "middle", 1: "start"}[right_x]
    y += {-1: 0, 0: 4, 1: 10}[right_y]  # text hangs above its baseline
    text = f"{edge['direction']}: {edge['label']}"
    return (
        f'<text class={quoteattr("label " + edge["status"])} x="{x}" y="{y}" text-anchor="{anchor}">'
        f"{escape(_fit(text, 240, 'label'))}</text>"
    )


def _sign(number: int) -> int:
    return (number > 0) - (number < 0)


def _markers() -> str:
    markers = "".join(
        f'<marker id="topology-arrow-{status}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        f'markerHeight="7" orient="auto-start-reverse"><path class="head {status}" d="M0,0 L10,5 L0,10 z"/></marker>'
        for status in (ALLOWED, PARTIAL, DENIED, PENDING)
    )
    return f"<defs>{markers}</defs>"


def _legend(y: int) -> str:
    entries = [
        (ALLOWED, "allowed (all)"),
        (PARTIAL, "partly allowed"),
        (DENIED, "denied"),
        (PENDING, "pending"),
    ]
    parts, x = [], 24
    for status, text in entries:
        parts.append(f'<line class="path {status}" x1="{x}" y1="{y}" x2="{x + 28}" y2="{y}"/>')
        parts.append(f'<text class="legend" x="{x + 34}" y="{y + 4}">{escape(text)}</text>')
        x += 44 + int(len(text) * 6.2) + 18
    note = "in / out: towards / from the Wavelength instance"
    parts.append(f'<text class="legend" x="{x}" y="{y + 4}">{escape(note)}</text>')
    return f'<g class="legend-items">{"".join(parts)}</g>'
