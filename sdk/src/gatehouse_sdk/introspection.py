"""RFC 7662 introspection of opaque tokens, with positive and negative caching."""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import quote, urlencode

from .errors import InvalidToken, ProviderUnavailable
from .http import FetchError, check_url, fetch_json
from .keys import NeedsNetwork, Provider
from .token import AccessToken
from .verifier import access_token_from_claims

logger = logging.getLogger("gatehouse_sdk")

# What an introspection answer may call an access token; refresh tokens and the like are refused.
_ACCESS_TOKEN_TYPES = frozenset({"bearer", "access_token", "urn:ietf:params:oauth:token-type:access_token"})


class Introspector:
    """Asks the issuer about opaque tokens as the API's own confidential client (HTTP Basic).

    An active answer is cached for `positive_ttl` seconds (never past the token's exp): a token revoked
    meanwhile stays accepted that long. An inactive or refused one for `negative_ttl` seconds, so a
    flood of garbage tokens costs the issuer one request each, not one per API request. Entries are
    keyed by the token's SHA-256, never the token itself.
    """

    def __init__(
        self,
        *,
        provider: Provider,
        audience: str,
        client_id: str,
        client_secret: str,
        endpoint: str | None,
        positive_ttl: float,
        negative_ttl: float,
        max_entries: int,
        leeway: float,
        timeout: float,
        clock: Callable[[], float],
    ) -> None:
        self._provider = provider
        self._audience = audience
        # RFC 6749 §2.3.1: form-encode the id and secret before Basic.
        credentials = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}".encode()
        self._authorization = "Basic " + base64.b64encode(credentials).decode("ascii")
        self._endpoint = endpoint
        self._positive_ttl = positive_ttl
        self._negative_ttl = negative_ttl
        self._max_entries = max_entries
        self._leeway = leeway
        self._timeout = timeout
        self._clock = clock
        self._cache: OrderedDict[bytes, tuple[float, AccessToken | InvalidToken]] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str, *, block: bool = True) -> AccessToken:
        key = hashlib.sha256(token.encode()).digest()
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and now < cached[0]:
            return self._answer(cached[1], now)
        if not block:
            raise NeedsNetwork
        result = self._introspect(token, now)
        if isinstance(result, AccessToken):
            until = min(now + self._positive_ttl, result.expires_at + self._leeway)
        else:
            until = now + self._negative_ttl
        with self._lock:
            self._cache[key] = (until, result)
            self._cache.move_to_end(key)
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
        return self._answer(result, now)

    def _answer(self, result: AccessToken | InvalidToken, now: float) -> AccessToken:
        if isinstance(result, InvalidToken):
            raise InvalidToken(result.description)
        if result.expires_at + self._leeway <= now:
            raise InvalidToken("The token has expired.")
        return result

    def _introspect(self, token: str, now: float) -> AccessToken | InvalidToken:
        endpoint = self._endpoint or self._discovered_endpoint()
        try:
            answer = fetch_json(
                endpoint,
                timeout=self._timeout,
                data=urlencode({"token": token, "token_type_hint": "access_token"}).encode(),
                headers={"Authorization": self._authorization, "Content-Type": "application/x-www-form-urlencoded"},
            )
        except FetchError as exc:
            # Not cached: the token may be fine, and the next request should ask again.
            raise ProviderUnavailable(f"Token introspection failed: {exc}.") from exc
        if answer.get("active") is not True:
            return InvalidToken("The token is not active (expired, revoked or unknown).")
        token_type = answer.get("token_type")
        if token_type is not None and str(token_type).lower() not in _ACCESS_TOKEN_TYPES:
            return InvalidToken("The token is not an access token.")
        try:
            return access_token_from_claims(
                answer,
                issuer=self._provider.issuer,
                audience=self._audience,
                leeway=self._leeway,
                now=now,
                jwt_profile=False,
            )
        except InvalidToken as exc:
            return exc

    def _discovered_endpoint(self) -> str:
        endpoint = self._provider.metadata().get("introspection_endpoint")
        try:
            return check_url(endpoint, "the discovery document's introspection_endpoint")  # type: ignore[arg-type]
        except FetchError as exc:
            raise ProviderUnavailable(f"The issuer publishes no usable introspection endpoint: {exc}.") from exc
