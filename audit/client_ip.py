"""The client's address, as the proxies in front of the panel saw it: one function, read by the
login lockout (django-axes' AXES_CLIENT_IP_CALLABLE), the audit writer and any rate limit.

WLPANEL_TRUSTED_PROXIES says which proxies to believe:
- a count N ("0", "1", "2"): N proxies stand in front of the panel, each appending the address it
  saw to X-Forwarded-For; the client is the address just before the last N hops. "0" (the local
  default) ignores the header: REMOTE_ADDR is the client.
- CIDR blocks ("10.0.0.0/8,172.16.0.0/12"): hops from these networks are proxies; the client is the
  nearest address, walking back from REMOTE_ADDR, outside them.
Anything a client writes into X-Forwarded-For itself sits to the left of what the trusted proxies
appended, so it is never read as the client's address.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings

Networks = tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


@lru_cache(maxsize=8)
def trusted_proxies(value: str) -> int | Networks:
    """The setting's value as a count of proxies or a tuple of networks (ValueError if neither)."""
    value = str(value).strip()
    if value.isdigit():
        return int(value)
    networks = tuple(ipaddress.ip_network(part.strip(), strict=False) for part in value.split(",") if part.strip())
    if not networks:
        raise ValueError(f"WLPANEL_TRUSTED_PROXIES: give a count of proxies or CIDR blocks, not {value!r}.")
    return networks


def _address(text: str) -> str | None:
    """An address as a proxy writes it ("198.51.100.7", "[2001:db8::1]:443", "198.51.100.7:5000"), normalised."""
    text = text.strip()
    if text.startswith("[") and "]" in text:
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def client_ip(request) -> str | None:
    """The client's address for this request, or None when not even REMOTE_ADDR is an address."""
    remote = _address(request.META.get("REMOTE_ADDR", ""))
    trusted = trusted_proxies(settings.WLPANEL_TRUSTED_PROXIES)
    if remote is None or trusted == 0:
        return remote
    forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    hops = [*forwarded, remote]  # oldest first; REMOTE_ADDR is the nearest hop
    if isinstance(trusted, int):
        # The last `trusted` hops are the proxies; the one before them is the client. A request with
        # fewer hops did not pass all of them (or came straight in): its first hop is the best known.
        candidate = hops[-(trusted + 1)] if len(hops) > trusted else hops[0]
        return _address(candidate) or remote
    client = remote
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:  # garbage a trusted proxy would not write: stop at the last good hop
            break
        client = address
        if not any(ipaddress.ip_address(address) in network for network in trusted):
            break
    return client
