"""Access token values and lifetimes: an RFC 9068 JWT for a registered API that asks for JWTs, an opaque
random string for everything else (Gatehouse's own userinfo, opaque APIs).

A JWT carries iss, sub, aud, client_id, scope, exp, iat, nbf and jti, and for a person also auth_time,
org, groups and roles, as ID tokens describe them; it is signed with the active key of the published JWKS.
"""

import json
import os
import secrets
import time
from typing import Any

from django.conf import settings
from jwcrypto.common import JWException
from jwcrypto.jws import JWS
from oauthlib.common import UNICODE_ASCII_CHARACTER_SET
from oauthlib.common import Request as OAuthRequest

from applications.models import AuthorizationRecord
from identity.oidc.claims import claim_groups, claim_org, claim_roles
from identity.oidc.resources import Target
from identity.oidc.validator import checksum
from identity.signing import ALGORITHM, jwt_sign, signing_key_for_kid

JWT_TYPE = "at+jwt"  # RFC 9068 §2.1
MAX_JWT_LENGTH = 16 * 1024  # ours are ~1 KB; anything far larger is not ours and not worth parsing

_TOKEN_LENGTH = 30  # oauthlib's generate_token(), which DOT uses when ACCESS_TOKEN_GENERATOR is unset
# The largest multiple of the alphabet's size in a byte: bytes at or above it are dropped, so every
# character is equally likely, as with SystemRandom().choice().
_UNBIASED_BELOW = 256 - 256 % len(UNICODE_ASCII_CHARACTER_SET)


def token_value() -> str:
    """A token as oauthlib's generate_token() makes it (30 characters drawn uniformly from its 62),
    from one read of the OS's randomness instead of one read per character."""
    chars, length = UNICODE_ASCII_CHARACTER_SET, _TOKEN_LENGTH
    picked: list[str] = []
    while len(picked) < length:
        picked += [chars[byte % len(chars)] for byte in os.urandom(2 * length) if byte < _UNBIASED_BELOW]
    return "".join(picked[:length])


def request_target(request: OAuthRequest) -> Target | None:
    """The API the validator resolved for this token request (identity.oidc.validator), if any."""
    return getattr(request, "gatehouse_target", None)


def access_token_generator(request: OAuthRequest, refresh_token: bool = False) -> str:
    """oauthlib's token generator (DOT's ACCESS_TOKEN_GENERATOR). Refresh tokens have their own
    (REFRESH_TOKEN_GENERATOR), so this is only ever asked for access tokens."""
    target = request_target(request)
    if target is None or not target.api.is_jwt:
        return token_value()
    return jwt_access_token(request, target)


def _auth_time(request: OAuthRequest) -> int | None:
    """When the person signed in for the grant this token comes from (the code's, or the refresh
    token family's record), as the ID token says it."""
    code = getattr(request, "code", None)
    record = None
    if code and request.grant_type == "authorization_code":
        record = AuthorizationRecord.objects.filter(code_checksum=checksum(code)).only("auth_time").first()
    else:
        refresh = getattr(request, "refresh_token_instance", None)
        if refresh is not None and refresh.token_family:
            record = (AuthorizationRecord.objects.filter(token_family=refresh.token_family)
                      .only("auth_time").first())
    return int(record.auth_time.timestamp()) if record is not None else None


def jwt_access_token(request: OAuthRequest, target: Target, *, active_kid: str | None = None) -> str:
    now = int(time.time())
    client = request.client
    user = getattr(request, "user", None) if request.grant_type != "client_credentials" else None
    claims = {
        "iss": settings.GATEHOUSE_ISSUER,
        "sub": str(user.public_id) if user is not None else client.client_id,
        "aud": target.api.identifier,
        "client_id": client.client_id,
        "scope": " ".join(request.scopes or ()),
        "iat": now,
        "nbf": now,
        "exp": now + int(request.expires_in),
        "jti": secrets.token_urlsafe(16),
    }
    if user is not None:
        auth_time = _auth_time(request)
        if auth_time is not None:
            claims["auth_time"] = auth_time
        claims.update(org=claim_org(request), groups=claim_groups(request), roles=claim_roles(request))
    return jwt_sign(claims, typ=JWT_TYPE, active_kid=active_kid)


def verified_claims(value: str) -> dict[str, Any] | None:
    """The claims of a JWT access token Gatehouse signed (any published key, `typ` at+jwt, this issuer,
    not expired), or None for anything else: an opaque token, a forgery, another kind of JWT."""
    if value.count(".") != 2 or len(value) > MAX_JWT_LENGTH:
        return None
    try:
        token = JWS()
        token.deserialize(value)
        header = token.jose_header
        if header.get("typ") != JWT_TYPE or header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
            return None
        key = signing_key_for_kid(header["kid"])
        if key is None:
            return None
        token.verify(key, alg=ALGORITHM)
        claims = json.loads(token.payload)
    except (JWException, ValueError, TypeError, KeyError):
        return None
    if (not isinstance(claims, dict) or claims.get("iss") != settings.GATEHOUSE_ISSUER
            or not isinstance(claims.get("exp"), int) or claims["exp"] <= time.time()):
        return None
    return claims
