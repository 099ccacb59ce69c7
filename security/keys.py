"""Keyed hashes for counter keys, so the security tables never store a raw email or IP address."""

from django.utils.crypto import salted_hmac


def counter_key(*parts: str) -> str:
    """A stable 64-hex-digit key for `parts` (e.g. "login-ip", "203.0.113.7").

    Keyed with SECRET_KEY: a leaked table cannot be reversed by hashing a list of emails. Rotating
    SECRET_KEY forgets the counters, which only restarts the windows.
    """
    return salted_hmac("gatehouse.security.counter", "\x1f".join(parts), algorithm="sha256").hexdigest()
