"""Keyed hashes for counter keys, so the security tables never store a raw email or IP address."""

import ipaddress

from django.utils.crypto import salted_hmac


def counter_key(*parts: str) -> str:
    """A stable 64-hex-digit key for `parts` (e.g. "login-ip", "203.0.113.7").

    Keyed with SECRET_KEY: a leaked table cannot be reversed by hashing a list of emails. Rotating
    SECRET_KEY forgets the counters, which only restarts the windows.
    """
    return salted_hmac("gatehouse.security.counter", "\x1f".join(parts), algorithm="sha256").hexdigest()


def ip_bucket(ip: str) -> str:
    """One client per IPv4 address, or per IPv6 /64 (one host usually holds a whole /64)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
