"""The logout token (OIDC Back-Channel Logout 1.0 §2.4): a JWT signed with the active key, typ logout+jwt."""

import json
import secrets
import time

from django.conf import settings
from jwcrypto.jwt import JWT

from identity.signing import ALGORITHM, signing_key_active_jwk

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# Short: the token is minted at each delivery attempt, so it never needs to outlive one POST (plus
# clock skew at the receiver).
LOGOUT_TOKEN_LIFETIME_SECONDS = 120


def logout_token_claims(*, client_id: str, subject: str, sid: str, now: int | None = None) -> dict:
    """The claims §2.4 asks for: iss, aud, iat, exp, jti, events, and both sub and sid; never a nonce
    (so a logout token can never pass for an ID token)."""
    now = int(now if now is not None else time.time())
    return {
        "iss": settings.GATEHOUSE_ISSUER,
        "aud": client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_LIFETIME_SECONDS,
        "jti": secrets.token_urlsafe(24),
        "sub": subject,
        "sid": sid,
        "events": {LOGOUT_EVENT: {}},
    }


def logout_token_mint(*, client_id: str, subject: str, sid: str) -> str:
    """A signed logout token, verifiable with the published JWKS (kid is the key's RFC 7638 thumbprint,
    as in ID tokens)."""
    key = signing_key_active_jwk()
    header = {"alg": ALGORITHM, "kid": key.thumbprint(), "typ": "logout+jwt"}
    token = JWT(header=header, claims=json.dumps(logout_token_claims(client_id=client_id, subject=subject, sid=sid)))
    token.make_signed_token(key)
    return token.serialize()
