"""The client's IP address: the socket's, unless the request came through a trusted proxy.

Throttles and allow-lists use this address; the audit log keeps the raw headers beside it.
"""

import ipaddress
from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def _trusted_networks() -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in settings.GATEHOUSE_TRUSTED_PROXIES)


@receiver(setting_changed)
def _forget_networks(*, setting, **kwargs):
    if setting == "GATEHOUSE_TRUSTED_PROXIES":
        _trusted_networks.cache_clear()


def _is_trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _trusted_networks())


def client_ip(meta: dict) -> str:
    """Walk X-Forwarded-For from the right while each hop is a trusted proxy.

    The right-most address not added by one of our proxies is the first one we cannot verify,
    so it is the client as far as we can know; anything left of it may be forged.
    """
    remote = meta.get("REMOTE_ADDR", "") or ""
    if not _is_trusted(remote):
        return remote
    hops = [hop.strip() for hop in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    candidate = remote
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            break
        candidate = hop
        if not _is_trusted(hop):
            break
    return candidate
