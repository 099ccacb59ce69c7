"""Reads of passkeys that other parts of Gatehouse need (the MFA policy, the account security page)."""

from directory.models import User


def user_passkey_count(*, user: User) -> int:
    """How many passkeys the user has registered (a factor for the MFA policy).

    Placeholder until the passkey model lands in this app (same session): no one has a passkey yet.
    """
    return 0
