"""The SSRF guard: where a webhook may be sent.

The host is resolved and every address it names is checked: link-local (with the cloud metadata
service at 169.254.169.254), private, shared and reserved addresses are refused unless
WLPANEL_WEBHOOK_ALLOWED_NETWORKS (an admin's setting) lists them; loopback is allowed only in the
local profile, so a receiver on the same laptop works under `make run`, and refused in production.
Deliveries connect to the address that was checked, so a name that re-resolves elsewhere
(DNS rebinding) cannot steer them.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

METADATA_ADDRESSES = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


class DestinationRefused(Exception):
    """The URL may not receive webhooks; the message says why."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str
    port: int
    path: str  # with the query
    address: str  # the checked address the delivery connects to

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


def _allowed_networks() -> list:
    return [ipaddress.ip_network(network, strict=False) for network in settings.WLPANEL_WEBHOOK_ALLOWED_NETWORKS]


def address_refusal(address) -> str | None:
    """Why a webhook may not go to this address, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address (allowed only in the local profile)" if settings.PRODUCTION else None
    if any(address in network for network in _allowed_networks()):
        return None
    if address in METADATA_ADDRESSES:
        return "the cloud metadata service"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private:
        return "a private address"
    if not address.is_global or address.is_multicast:
        return "a reserved address"
    return None


def destination_check(url: str) -> Destination:
    """Resolve the URL's host and check every address; the first one is where to connect."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise DestinationRefused("Only http:// and https:// URLs can receive webhooks.")
    if not parts.hostname:
        raise DestinationRefused("The URL has no host.")
    if parts.username or parts.password:
        raise DestinationRefused("Put credentials in the secret, not in the URL.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise DestinationRefused("The URL's port is not valid.") from exc
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationRefused(f"{parts.hostname} does not resolve.") from exc
    addresses = list(dict.fromkeys(ipaddress.ip_address(item[4][0].split("%")[0]) for item in found))
    for address in addresses:
        reason = address_refusal(address)
        if reason:
            raise DestinationRefused(f"{parts.hostname} resolves to {address}, {reason}: webhooks may not go there.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Destination(scheme=parts.scheme, host=parts.hostname, port=port, path=path, address=str(addresses[0]))


@dataclass(frozen=True)
class Answer:
    status: int | None
    error: str


def destination_post(destination: Destination, *, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST to the checked address (TLS still verifies the host's name); redirects are not followed."""
    import urllib3

    options = {"timeout": urllib3.Timeout(connect=timeout, read=timeout), "retries": False, "maxsize": 1}
    if destination.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            destination.address,
            destination.port,
            server_hostname=destination.host,
            assert_hostname=destination.host,
            cert_reqs="CERT_REQUIRED",
            **options,
        )
    else:
        pool = urllib3.HTTPConnectionPool(destination.address, destination.port, **options)
    try:
        response = pool.urlopen(
            "POST",
            destination.path,
            body=body,
            headers={**headers, "Host": destination.host_header},
            redirect=False,
            assert_same_host=False,
            preload_content=True,
        )
    except urllib3.exceptions.HTTPError as exc:
        return Answer(status=None, error=f"{type(exc).__name__}: {exc}"[:500])
    finally:
        pool.close()
    if 200 <= response.status < 300:
        return Answer(status=response.status, error="")
    return Answer(status=response.status, error=f"HTTP {response.status}")
