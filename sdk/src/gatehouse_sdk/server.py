"""ResourceServer: one API's view of one Gatehouse issuer — header parsing, JWTs, opaque tokens."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable

from .errors import ConfigurationError, InvalidRequest, InvalidToken, MissingToken
from .introspection import Introspector
from .keys import SUPPORTED_ALGORITHMS, Provider
from .token import AccessToken
from .verifier import JWTVerifier, looks_like_jwt

# RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token, b64token = 1*( ALPHA / DIGIT / "-._~+/" ) *"="
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9\-._~+/]+=*) *")


class ResourceServer:
    """Verifies the bearer tokens one API receives.

    JWT access tokens (RFC 9068) are checked against the issuer's JWKS; other tokens are introspected
    (RFC 7662) when the API's client credentials are given, and refused otherwise.
    """

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        algorithms: Iterable[str] = ("RS256", "ES256"),
        leeway: float = 30,
        jwks_uri: str | None = None,
        jwks_cache_ttl: float = 600,
        jwks_min_refresh_interval: float = 10,
        http_timeout: float = 5,
        max_token_length: int = 8192,
        introspection_client_id: str | None = None,
        introspection_client_secret: str | None = None,
        introspection_endpoint: str | None = None,
        introspection_positive_ttl: float = 30,
        introspection_negative_ttl: float = 60,
        introspection_cache_size: int = 10_000,
        realm: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(issuer, str) or not issuer.startswith(("https://", "http://")):
            raise ConfigurationError(f"issuer must be the issuer's http(s) URL, not {issuer!r}")
        if not isinstance(audience, str) or not audience:
            raise ConfigurationError("audience must be the API's identifier URI")
        algorithms = frozenset(algorithms)
        if not algorithms or not algorithms <= SUPPORTED_ALGORITHMS:
            raise ConfigurationError(
                f"algorithms must be among {', '.join(sorted(SUPPORTED_ALGORITHMS))}; "
                f"never HS* or none (got {', '.join(sorted(map(str, algorithms))) or 'nothing'})"
            )
        if (introspection_client_id is None) != (introspection_client_secret is None):
            raise ConfigurationError("introspection needs both introspection_client_id and introspection_client_secret")
        if leeway < 0 or jwks_min_refresh_interval < 0 or jwks_cache_ttl <= 0 or max_token_length <= 0:
            raise ConfigurationError("leeway and intervals must be >= 0, cache lifetimes and lengths > 0")
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        self.realm = realm
        self.clock = clock
        self.max_token_length = max_token_length
        self.provider = Provider(
            issuer=issuer,
            jwks_uri=jwks_uri,
            ttl=jwks_cache_ttl,
            min_refresh_interval=jwks_min_refresh_interval,
            timeout=http_timeout,
            clock=clock,
        )
        self._jwt = JWTVerifier(
            provider=self.provider, audience=audience, algorithms=algorithms, leeway=leeway, clock=clock
        )
        self._introspector: Introspector | None = None
        if introspection_client_id is not None and introspection_client_secret is not None:
            self._introspector = Introspector(
                provider=self.provider,
                audience=audience,
                client_id=introspection_client_id,
                client_secret=introspection_client_secret,
                endpoint=introspection_endpoint,
                positive_ttl=introspection_positive_ttl,
                negative_ttl=introspection_negative_ttl,
                max_entries=introspection_cache_size,
                leeway=leeway,
                timeout=http_timeout,
                clock=clock,
            )

    def verify(self, token: str, *, block: bool = True) -> AccessToken:
        """Verify a raw token. Raises InvalidToken (401) or ProviderUnavailable (503); with
        `block=False`, raises NeedsNetwork where it would otherwise wait on the issuer."""
        if len(token) > self.max_token_length:
            raise InvalidToken(f"The token is longer than {self.max_token_length} characters.")
        if looks_like_jwt(token):
            return self._jwt.verify_compact(token, block=block)
        if self._introspector is not None:
            return self._introspector.verify(token, block=block)
        raise InvalidToken("The token is not a JWT access token.")

    def authenticate(self, authorization: str | None, *, block: bool = True) -> AccessToken | None:
        """Verify the token in an Authorization header value; None when there is no bearer token."""
        if authorization is None:
            return None
        scheme = authorization.lstrip()[:7].lower()
        if not (scheme == "bearer" or scheme.startswith("bearer ")):
            # Another scheme (Basic, a session...) is someone else's business; a view needing a token says so.
            return None
        if len(authorization) > self.max_token_length + 64:
            raise InvalidToken(f"The token is longer than {self.max_token_length} characters.")
        match = _BEARER.fullmatch(authorization.strip(" "))
        if match is None:
            raise InvalidRequest("The Authorization header must be `Bearer <token>` with one token.")
        return self.verify(match.group(1), block=block)

    def require(self, authorization: str | None, *, block: bool = True) -> AccessToken:
        """Like authenticate(), but a missing token raises MissingToken (401 with a bare challenge)."""
        token = self.authenticate(authorization, block=block)
        if token is None:
            raise MissingToken
        return token


def refuse_token_in_query(query_has_access_token: bool) -> None:
    """RFC 9700 §2.5 (and RFC 6750 §2.3's warning): tokens in URLs leak into logs; only the header is read."""
    if query_has_access_token:
        raise InvalidRequest("Send the access token in the Authorization header, not in the URL.")
