"""Where a webhook may be sent: an http(s) URL whose host resolves only to public addresses (SSRF).

Checked when an endpoint is saved and again at every delivery, and the POST then connects to the very
address that was checked (delivery.py), so a name that resolves elsewhere a second later (DNS
rebinding) cannot turn Gatehouse against its own network. GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE lifts the
address rule (a receiver on this machine in development and tests); the URL rules always hold.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

URL_MAX = 2000


class TargetRefused(Exception):
    """Gatehouse will not send to this URL; the message says why, for a person."""


class TargetUnresolved(TargetRefused):
    """The host name does not resolve (now): it may later, so a delivery is retried."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent in the request line
    addresses: tuple[str, ...]  # the checked addresses, in the resolver's order


def url_problem(url: str) -> str | None:
    """What is wrong with `url` as a webhook URL on its face (no lookup), or None."""
    if len(url) > URL_MAX:
        return f"The URL is longer than {URL_MAX} characters."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "This is not a valid URL."
    if parts.scheme not in ("http", "https"):
        return "The URL must start with https:// (or http://)."
    if not parts.hostname:
        return "The URL has no host name."
    if parts.username is not None or parts.password is not None:
        return "The URL must not contain a user name or password; the signature authenticates Gatehouse."
    if parts.fragment:
        return "The URL must not have a #fragment."
    if port == 0:
        return "The URL's port is not valid."
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return "The URL must not contain spaces or control characters."
    return None


def _refused_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:  # shared (100.64.0.0/10), documentation, benchmarking ranges and the like
        return "a reserved address"
    return None


def resolve(url: str, *, allow_private: bool | None = None) -> Target:
    """Check `url` and resolve its host; TargetRefused if any rule or any resolved address says no.

    Every address the name resolves to must be allowed: an attacker's name that answers with one public
    and one private address is refused as a whole. A name that does not resolve is refused too (at save
    time the admin should fix it; at delivery time the delivery is retried).
    """
    problem = url_problem(url)
    if problem:
        raise TargetRefused(problem)
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    allow = settings.GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE if allow_private is None else allow_private
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise TargetUnresolved(f"The host name {host} could not be resolved ({exc.__class__.__name__}).") from None
    addresses: list[str] = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]
        address = ipaddress.ip_address(text)
        reason = _refused_address(address)
        if reason and not allow:
            raise TargetRefused(f"{host} resolves to {address}, {reason}: Gatehouse does not send webhooks "
                                "into private networks.")
        if text not in addresses:
            addresses.append(text)
    if not addresses:
        raise TargetUnresolved(f"The host name {host} has no address.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(scheme=parts.scheme, host=host, port=port, path=path, addresses=tuple(addresses))
