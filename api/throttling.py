"""Rate limits of the management API: per client IP (every request, before the key is checked) and per
key, on the shared counters (security/throttle.py: Redis with REDIS_URL, else database rows).

Answers carry the RateLimit header fields of draft-ietf-httpapi-ratelimit-headers-06 (RateLimit-Limit,
-Remaining, -Reset in seconds, and RateLimit-Policy `<limit>;w=<window>`), for whichever limit is
closer to running out; a refused request gets 429 with Retry-After.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from security.keys import ip_bucket
from security.throttle import throttle_hit


@dataclass(frozen=True)
class RateLimit:
    limit: int
    window: int
    remaining: int
    reset: int  # seconds until the window ends
    allowed: bool


def _hit(key: str, limit: int) -> RateLimit:
    window = settings.GATEHOUSE_API_RATE_LIMIT_WINDOW_SECONDS
    now = timezone.now()
    decision = throttle_hit(key=key, limit=limit, window_seconds=window, now=now)
    reset = max(1, int((decision.window_end - now).total_seconds() + 0.999)) if decision.window_end else window
    return RateLimit(limit=limit, window=window, remaining=max(0, limit - decision.count), reset=reset,
                     allowed=decision.allowed)


def rate_limit_ip(ip: str) -> RateLimit:
    """One request from `ip` (an IPv6 /64 counts as one client)."""
    return _hit(f"api-ip:{ip_bucket(ip)}", settings.GATEHOUSE_API_RATE_LIMIT_PER_IP)


def rate_limit_key(label: str) -> RateLimit:
    """One request with the credential `label` (a key's prefix, or an application's client id)."""
    return _hit(f"api-key:{label}", settings.GATEHOUSE_API_RATE_LIMIT_PER_KEY)


def rate_limit_headers(limits: list[RateLimit]) -> dict[str, str]:
    if not limits:
        return {}
    tightest = min(limits, key=lambda limit: (limit.remaining, -limit.reset))
    return {
        "RateLimit-Limit": str(tightest.limit),
        "RateLimit-Remaining": str(tightest.remaining),
        "RateLimit-Reset": str(tightest.reset),
        "RateLimit-Policy": f"{tightest.limit};w={tightest.window}",
    }
