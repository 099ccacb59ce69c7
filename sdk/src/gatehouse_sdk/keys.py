"""The issuer's discovery document and JWKS, cached; an unknown `kid` refetches at most once per interval."""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePrivateKey, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from jwt import PyJWK
from jwt.algorithms import get_default_algorithms
from jwt.exceptions import InvalidKeyError, PyJWKError

from .errors import InvalidToken, ProviderUnavailable
from .http import FetchError, check_url, fetch_json

logger = logging.getLogger("gatehouse_sdk")

Verify = Callable[[bytes, bytes], bool]
PublicKey = RSAPublicKey | EllipticCurvePublicKey

# Asymmetric algorithms only: an HS* token "signed" with the public key must never verify.
SUPPORTED_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"})
_EC_CURVES = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
_IMPLEMENTATIONS = {name: impl for name, impl in get_default_algorithms().items() if name in SUPPORTED_ALGORITHMS}
_RS_HASHES = {"RS256": hashes.SHA256, "RS384": hashes.SHA384, "RS512": hashes.SHA512}
_MAX_KEYS = 100
_MIN_RSA_BITS = 2048


class NeedsNetwork(Exception):
    """Raised instead of fetching when the caller asked not to block (an event loop's fast path)."""


class KeySet:
    """One JWKS document, parsed once: public key objects by kid, and a verifier per (kid, alg)."""

    def __init__(self, keys: dict[str, tuple[PublicKey, str | None]]) -> None:
        self.keys = keys
        self.verifiers: dict[tuple[str, str], Verify] = {}

    def verifier(self, kid: str, alg: str) -> Verify:
        key, jwk_alg = self.keys[kid]
        # The header's alg must fit the key it names: RS*/PS* need RSA, ES* the matching curve.
        if jwk_alg is not None and jwk_alg != alg:
            raise InvalidToken(f"The token's alg {alg} does not match its key, which is for {jwk_alg}.")
        if alg[0] in "RP" and not isinstance(key, RSAPublicKey):
            raise InvalidToken(f"The token's alg {alg} needs an RSA key; its kid names another kind.")
        if alg[0] == "E" and not (isinstance(key, EllipticCurvePublicKey) and key.curve.name == _EC_CURVES[alg]):
            raise InvalidToken(f"The token's alg {alg} needs an EC key on {_EC_CURVES[alg]}.")
        if alg.startswith("RS"):
            verify = _pkcs1v15_verifier(key, alg)  # type: ignore[arg-type]
        else:
            implementation = _IMPLEMENTATIONS[alg]

            def verify(message: bytes, signature: bytes) -> bool:
                return implementation.verify(message, key, signature)

        self.verifiers[(kid, alg)] = verify
        return verify


def _pkcs1v15_verifier(key: RSAPublicKey, alg: str) -> Verify:
    """RS*: what PyJWT's RSAAlgorithm.verify does, with the padding and hash objects made once
    (the hot path of every RS256 verification)."""
    pkcs1v15, digest = padding.PKCS1v15(), _RS_HASHES[alg]()

    def verify(message: bytes, signature: bytes) -> bool:
        try:
            key.verify(signature, message, pkcs1v15, digest)
        except InvalidSignature:
            return False
        return True

    return verify


def parse_jwks(document: dict[str, Any]) -> KeySet:
    """Keep the signing keys Gatehouse can use (RSA >= 2048 bits, EC P-256/384/521); skip the rest."""
    entries = document.get("keys")
    if not isinstance(entries, list):
        raise FetchError("the JWKS has no \"keys\" list")
    keys: dict[str, tuple[PublicKey, str | None]] = {}
    for jwk in entries[:_MAX_KEYS]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str) or jwk["kid"] in keys:
            continue
        if jwk.get("use", "sig") != "sig" or jwk.get("kty") not in ("RSA", "EC"):
            continue
        try:
            key = PyJWK(jwk).key
        except (PyJWKError, InvalidKeyError, ValueError, TypeError, KeyError) as exc:
            logger.warning("gatehouse-sdk: skipping JWKS key %r: %s", jwk["kid"], exc)
            continue
        if isinstance(key, RSAPrivateKey | EllipticCurvePrivateKey):
            key = key.public_key()
        if isinstance(key, RSAPublicKey) and key.key_size < _MIN_RSA_BITS:
            logger.warning("gatehouse-sdk: skipping JWKS key %r: RSA below %d bits", jwk["kid"], _MIN_RSA_BITS)
            continue
        alg = jwk.get("alg")
        keys[jwk["kid"]] = (key, alg if isinstance(alg, str) else None)
    return KeySet(keys)


class Provider:
    """The issuer as a resource server sees it: metadata from discovery, and its signing keys."""

    def __init__(
        self,
        *,
        issuer: str,
        jwks_uri: str | None,
        ttl: float,
        min_refresh_interval: float,
        timeout: float,
        clock: Callable[[], float],
    ) -> None:
        self.issuer = issuer
        self.discovery_url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        self._jwks_uri = jwks_uri
        self._ttl = ttl
        self._min_interval = min_refresh_interval
        self._timeout = timeout
        self._clock = clock
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._metadata_attempted_at: float | None = None
        self._metadata_error: str | None = None
        self._keyset: KeySet | None = None
        self._fresh_until = 0.0
        self._attempted_at: float | None = None
        self._error: str | None = None
        self._lock = threading.RLock()

    # -- discovery ---------------------------------------------------------------------------------

    def metadata(self, *, block: bool = True) -> dict[str, Any]:
        """The discovery document: fetched on first use and after the cache lifetime, at most once per
        refresh interval; a cached copy outlives a failed refetch."""
        metadata = self._metadata
        if metadata is not None and self._clock() - self._metadata_at < self._ttl:
            return metadata
        if self._metadata_refresh_allowed(self._clock()):
            if not block:
                raise NeedsNetwork
            with self._lock:
                self._refresh_metadata(self._clock())
        if self._metadata is None:
            raise ProviderUnavailable(
                f"The issuer's discovery document is unavailable: {self._metadata_error}.",
                retry_after=self._min_interval,
            )
        return self._metadata

    def _metadata_refresh_allowed(self, now: float) -> bool:
        return self._metadata_attempted_at is None or now - self._metadata_attempted_at >= self._min_interval

    def _refresh_metadata(self, now: float) -> None:
        """Refetch if still due (called with the lock held; another thread may have just done it)."""
        if self._metadata is not None and now - self._metadata_at < self._ttl:
            return
        if not self._metadata_refresh_allowed(now):
            return
        self._metadata_attempted_at = now
        try:
            document = fetch_json(self.discovery_url, timeout=self._timeout)
            if document.get("issuer") != self.issuer:
                # OIDC Discovery §4.3: a document that names another issuer must not be used.
                raise FetchError(
                    f"{self.discovery_url} names the issuer {document.get('issuer')!r}, not {self.issuer!r}"
                )
        except FetchError as exc:
            self._metadata_error = str(exc)
            logger.warning("gatehouse-sdk: discovery failed: %s", exc)
            return
        self._metadata, self._metadata_at, self._metadata_error = document, now, None

    # -- keys ----------------------------------------------------------------------------------------

    def verifier_for(self, kid: str, alg: str, *, block: bool = True) -> Verify:
        """The signature check for this kid and alg; raises InvalidToken, ProviderUnavailable or NeedsNetwork."""
        keyset = self._keyset
        if keyset is not None and self._clock() < self._fresh_until:
            verify = keyset.verifiers.get((kid, alg))
            if verify is not None:
                return verify
            if kid in keyset.keys:
                return keyset.verifier(kid, alg)
        return self._verifier_slow(kid, alg, block)

    def _refresh_allowed(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self._min_interval

    def _verifier_slow(self, kid: str, alg: str, block: bool) -> Verify:
        if self._refresh_allowed(self._clock()):
            if not block:
                raise NeedsNetwork
            with self._lock:
                # Another thread may have refreshed while this one waited for the lock.
                now = self._clock()
                if self._refresh_allowed(now):
                    self._refresh(now)
        keyset = self._keyset
        if keyset is not None and kid in keyset.keys:
            # Also when the refresh failed: the last keys the issuer published still hold (stale, not wrong).
            return keyset.verifiers.get((kid, alg)) or keyset.verifier(kid, alg)
        if self._error is not None:
            assert self._attempted_at is not None
            wait = self._min_interval - (self._clock() - self._attempted_at)
            raise ProviderUnavailable(
                f"The issuer's signing keys could not be fetched: {self._error}.", retry_after=math.ceil(wait)
            )
        raise InvalidToken("The token is signed with a key (kid) that the issuer does not publish.")

    def _refresh(self, now: float) -> None:
        self._attempted_at = now
        try:
            jwks_uri = self._jwks_uri or self._discovered_jwks_uri(now)
            keyset = parse_jwks(fetch_json(jwks_uri, timeout=self._timeout))
        except FetchError as exc:
            self._error = str(exc)
            logger.warning("gatehouse-sdk: JWKS refresh failed: %s", exc)
            return
        self._keyset, self._fresh_until, self._error = keyset, now + self._ttl, None

    def _discovered_jwks_uri(self, now: float) -> str:
        self._refresh_metadata(now)
        if self._metadata is None:
            raise FetchError(f"the discovery document is unavailable: {self._metadata_error}")
        return check_url(self._metadata.get("jwks_uri"), "the discovery document's jwks_uri")
