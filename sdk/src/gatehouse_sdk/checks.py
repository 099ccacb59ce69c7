"""Framework-free checks behind require_scope, require_role and require_fresh_auth."""

from __future__ import annotations

import time

from .errors import InsufficientScope, InsufficientUserAuthentication
from .token import AccessToken


def check_scope(token: AccessToken, *scopes: str) -> None:
    """Every named scope must be granted; raises InsufficientScope (403) naming the ones required."""
    missing = [scope for scope in scopes if scope not in token.scopes]
    if missing:
        raise InsufficientScope(
            f"The access token lacks the scope {' '.join(missing)}.", scope=" ".join(scopes)
        )


def check_role(token: AccessToken, *roles: str) -> None:
    """Every named app role must be held. A missing role is a 403 with `insufficient_scope`, the
    RFC 6750 code that tells a client a token with more privilege is needed."""
    missing = [role for role in roles if role not in token.roles]
    if missing:
        raise InsufficientScope(f"This resource needs the app role {' '.join(missing)}.")


def check_fresh_auth(token: AccessToken, max_age: int, *, now: float | None = None) -> None:
    """The user must have signed in at most `max_age` seconds ago (RFC 9470 step-up challenge)."""
    if token.auth_time is None:
        raise InsufficientUserAuthentication(
            "This resource needs a token from a recent user sign-in; this token has no auth_time.",
            max_age=max_age,
        )
    age = (time.time() if now is None else now) - token.auth_time
    if age > max_age:
        raise InsufficientUserAuthentication(
            f"The user signed in {int(age)} seconds ago; this resource needs a sign-in within {max_age} seconds.",
            max_age=max_age,
        )


def validate_max_age(max_age: int) -> int:
    if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
        raise ValueError(f"require_fresh_auth needs a whole number of seconds >= 0, not {max_age!r}")
    return max_age
