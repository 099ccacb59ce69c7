"""Errors a resource server answers with: RFC 6750 bearer errors, RFC 9470 step-up, an unreachable issuer."""

from __future__ import annotations

import re

# RFC 6750 §3: error_description and scope values may not hold `"` or `\` (nor control characters).
_UNSAFE = re.compile(r'[^\x20\x21\x23-\x5b\x5d-\x7e]')


def _quote(value: str) -> str:
    return '"' + _UNSAFE.sub("?", value) + '"'


class GatehouseError(Exception):
    """A request that a resource server must refuse; `status`, `headers()` and `body()` say how."""

    status = 401
    error: str | None = None

    def __init__(self, description: str = "") -> None:
        super().__init__(description)
        self.description = description

    def challenge_params(self) -> dict[str, str]:
        """Extra auth-params of the WWW-Authenticate challenge beyond error and error_description."""
        return {}

    def challenge(self, realm: str | None = None) -> str:
        """The `WWW-Authenticate` value: `Bearer realm=..., error=..., error_description=...`."""
        params: list[str] = []
        if realm:
            params.append(f"realm={_quote(realm)}")
        if self.error:
            params.append(f"error={_quote(self.error)}")
            if self.description:
                params.append(f"error_description={_quote(self.description)}")
        params.extend(f"{name}={_quote(value)}" for name, value in self.challenge_params().items())
        return "Bearer " + ", ".join(params) if params else "Bearer"

    def headers(self, realm: str | None = None) -> dict[str, str]:
        return {"WWW-Authenticate": self.challenge(realm), "Cache-Control": "no-store"}

    def body(self) -> dict[str, str]:
        body = {"error": self.error or "unauthorized"}
        if self.description:
            body["error_description"] = self.description
        return body


class MissingToken(GatehouseError):
    """No bearer token was sent (RFC 6750 §3.1: the challenge then carries no error code)."""

    status = 401
    error = None

    def __init__(self, description: str = "This resource needs a bearer access token.") -> None:
        super().__init__(description)


class InvalidRequest(GatehouseError):
    """The Authorization header or the request is malformed, or the token is not in the header."""

    status = 400
    error = "invalid_request"


class InvalidToken(GatehouseError):
    """The token is expired, revoked, malformed, or not for this API."""

    status = 401
    error = "invalid_token"


class InsufficientScope(GatehouseError):
    """A valid token that lacks a scope (or an app role) this resource needs."""

    status = 403
    error = "insufficient_scope"

    def __init__(self, description: str, *, scope: str = "") -> None:
        super().__init__(description)
        self.scope = scope

    def challenge_params(self) -> dict[str, str]:
        return {"scope": self.scope} if self.scope else {}


class InsufficientUserAuthentication(GatehouseError):
    """RFC 9470 step-up: the user signed in too long ago (or the token carries no sign-in at all)."""

    status = 401
    error = "insufficient_user_authentication"

    def __init__(self, description: str, *, max_age: int) -> None:
        super().__init__(description)
        self.max_age = max_age

    def challenge_params(self) -> dict[str, str]:
        return {"max_age": str(self.max_age)}


class ProviderUnavailable(GatehouseError):
    """The issuer's discovery, JWKS or introspection endpoint could not be used: try again later."""

    status = 503
    error = "temporarily_unavailable"

    def __init__(self, description: str, *, retry_after: int = 10) -> None:
        super().__init__(description)
        self.retry_after = max(1, int(retry_after))

    def headers(self, realm: str | None = None) -> dict[str, str]:
        # Not a problem with the token, so no bearer challenge: the client should retry, not re-authenticate.
        return {"Retry-After": str(self.retry_after), "Cache-Control": "no-store"}


class ConfigurationError(ValueError):
    """The SDK was set up with a value it cannot work with (raised at start-up, never per request)."""
