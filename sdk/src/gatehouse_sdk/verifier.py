"""RFC 9068 JWT access tokens: signature from the issuer's JWKS, then typ, iss, aud, exp, nbf, iat."""

from __future__ import annotations

import binascii
import json
import re
from base64 import urlsafe_b64decode
from collections.abc import Callable
from typing import Any

from .errors import InvalidToken
from .keys import Provider
from .token import AccessToken

_JWS_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})  # RFC 9068 §4, compared case-insensitively
_EMPTY: frozenset[str] = frozenset()


def looks_like_jwt(token: str) -> bool:
    return _JWS_COMPACT.fullmatch(token) is not None


def _segment(segment: str, what: str) -> bytes:
    try:
        return urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken(f"The token's {what} is not base64url.") from exc


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # Python's json would otherwise read NaN and Infinity


_decode_json = json.JSONDecoder(parse_constant=_no_constants).decode


def _json_object(segment: str, what: str) -> dict[str, Any]:
    try:
        value = _decode_json(_segment(segment, what).decode("utf-8"))
    except ValueError as exc:  # also UnicodeDecodeError
        raise InvalidToken(f"The token's {what} is not JSON.") from exc
    if not isinstance(value, dict):
        raise InvalidToken(f"The token's {what} is not a JSON object.")
    return value


def _number(claims: dict[str, Any], name: str, *, required: bool) -> int | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"The token's {name} claim is {'missing' if value is None else 'not a number'}.")
    return int(value)


def _string(claims: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidToken(f"The token's {name} claim is {'missing' if value is None else 'not a string'}.")
    return value


def _org_slug(claims: dict[str, Any]) -> str | None:
    """The organization's slug: Gatehouse's `org` claim is {"id": ..., "slug": ...}, as in ID tokens."""
    value = claims.get("org")
    if value is None:
        return None
    if isinstance(value, dict):
        return _string(value, "slug", required=True)
    return _string(claims, "org", required=True)


def _string_set(claims: dict[str, Any], name: str) -> frozenset[str]:
    value = claims.get(name)
    if value is None:
        return _EMPTY
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidToken(f"The token's {name} claim is not a list of strings.")
    return frozenset(value)


def access_token_from_claims(
    claims: dict[str, Any], *, issuer: str, audience: str, leeway: float, now: float, jwt_profile: bool = True
) -> AccessToken:
    """Check the registered claims against this API and the clock; shared by JWTs and introspection."""
    if claims.get("iss") != issuer:
        raise InvalidToken("The token was not issued by this API's issuer.")
    aud = claims.get("aud")
    if not (aud == audience or (isinstance(aud, list) and audience in aud)):
        raise InvalidToken("The token is not meant for this API (aud).")
    exp = _number(claims, "exp", required=True)
    assert exp is not None
    if exp + leeway <= now:
        raise InvalidToken("The token has expired.")
    nbf = _number(claims, "nbf", required=False)
    if nbf is not None and nbf - leeway > now:
        raise InvalidToken("The token is not valid yet (nbf).")
    iat = _number(claims, "iat", required=jwt_profile)
    if iat is not None and iat - leeway > now:
        raise InvalidToken("The token was issued in the future (iat).")
    if jwt_profile:  # RFC 9068 requires iat and jti; RFC 7662 answers may omit them
        _string(claims, "jti", required=True)
    scope = claims.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise InvalidToken("The token's scope claim is not a space-separated string.")
    return AccessToken(
        sub=_string(claims, "sub", required=True),  # type: ignore[arg-type]
        client_id=_string(claims, "client_id", required=True),  # type: ignore[arg-type]
        scopes=frozenset(scope.split()) if scope else _EMPTY,
        roles=_string_set(claims, "roles"),
        groups=_string_set(claims, "groups"),
        org=_org_slug(claims),
        auth_time=_number(claims, "auth_time", required=False),
        expires_at=exp,
        claims=claims,
    )


class JWTVerifier:
    """Verifies one compact JWS access token; keeps no per-token state (nothing about results is cached)."""

    def __init__(
        self,
        *,
        provider: Provider,
        audience: str,
        algorithms: frozenset[str],
        leeway: float,
        clock: Callable[[], float],
    ) -> None:
        self._provider = provider
        self._issuer = provider.issuer
        self._audience = audience
        self._algorithms = algorithms
        self._leeway = leeway
        self._clock = clock

    def verify(self, token: str, *, block: bool = True) -> AccessToken:
        if _JWS_COMPACT.fullmatch(token) is None:
            raise InvalidToken("The token is not a signed JWT (three base64url parts).")
        return self.verify_compact(token, block=block)

    def verify_compact(self, token: str, *, block: bool = True) -> AccessToken:
        """verify() for a token already known to match the compact JWS shape."""
        header_b64, payload_b64, signature_b64 = token.split(".")
        header = _json_object(header_b64, "header")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in _ACCESS_TOKEN_TYPES:
            # RFC 9068 §4: refuse ID tokens and other JWTs presented as access tokens.
            raise InvalidToken("The token is not a JWT access token (typ must be at+jwt).")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise InvalidToken(f"The token's alg {str(alg)[:20]!r} is not accepted.")
        if "crit" in header:
            raise InvalidToken("The token names critical header extensions this API does not understand.")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("The token's header has no kid.")
        verify = self._provider.verifier_for(kid, alg, block=block)
        signature = _segment(signature_b64, "signature")
        if not verify(f"{header_b64}.{payload_b64}".encode("ascii"), signature):
            raise InvalidToken("The token's signature does not verify.")
        claims = _json_object(payload_b64, "payload")
        return access_token_from_claims(
            claims, issuer=self._issuer, audience=self._audience, leeway=self._leeway, now=self._clock()
        )
