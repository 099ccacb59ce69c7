"""The verified access token as a small typed object, and the user object frameworks hand to views."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class AccessToken:
    """Claims of a verified access token (a JWT checked against JWKS, or an introspected opaque token)."""

    sub: str
    client_id: str
    scopes: frozenset[str]
    roles: frozenset[str]
    groups: frozenset[str]
    org: str | None
    auth_time: int | None
    expires_at: int
    claims: Mapping[str, Any]

    @property
    def is_user(self) -> bool:
        """True when a person signed in; client-credentials tokens carry no auth_time."""
        return self.auth_time is not None

    def has_scopes(self, *scopes: str) -> bool:
        return self.scopes.issuperset(scopes)

    def has_roles(self, *roles: str) -> bool:
        return self.roles.issuperset(roles)


class TokenUser:
    """What `request.user` is under DRF: the token's subject, authenticated, with no database row."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, token: AccessToken) -> None:
        self.token = token
        self.pk = self.id = self.username = token.sub

    def __str__(self) -> str:
        return self.token.sub

    def __repr__(self) -> str:
        return f"<TokenUser sub={self.token.sub!r} client_id={self.token.client_id!r}>"
