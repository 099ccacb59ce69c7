"""The JWKS document (/.well-known/jwks.json), served from a short in-process cache."""

import json
import time

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed

from identity.signing import (
    JWKS_PROCESS_CACHE_SECONDS,
    jwks_max_age_seconds,
    on_signing_key_cache_clear,
    published_jwks,
)

# (monotonic expiry, body, Cache-Control). Replaced whole, never mutated, so threads may share it.
_cached: tuple[float, bytes, str] | None = None


@on_signing_key_cache_clear
def jwks_cache_clear() -> None:
    """Make the next request rebuild the document (after a key change in this process; tests)."""
    global _cached
    _cached = None


def jwks_document_if_fresh() -> tuple[bytes, str] | None:
    """The cached (body, Cache-Control) while it is fresh, else None. Never touches the database:
    config/wsgi.py serves JWKS from this ahead of the middleware, and leaves a stale or empty
    cache to the view below to rebuild."""
    cached = _cached
    if cached is None or cached[0] <= time.monotonic():
        return None
    return cached[1], cached[2]


def jwks_document() -> tuple[bytes, str]:
    """(body, Cache-Control) of the JWK Set, rebuilt at most every JWKS_PROCESS_CACHE_SECONDS.

    A few seconds of staleness is safe because a next key is published for the full JWKS cache
    lifetime before it signs (identity.signing.next_key_min_published_seconds counts these seconds
    too); in the steady state a request costs no database query.
    """
    global _cached
    cached = _cached
    now = time.monotonic()
    if cached is None or cached[0] <= now:
        body = json.dumps(published_jwks(), separators=(",", ":")).encode()
        # No stale-while-revalidate (DOT's own view adds one): it would stretch how long an RP may
        # keep a copy beyond the time a next key is published before it signs.
        cached = (now + JWKS_PROCESS_CACHE_SECONDS, body, f"public, max-age={jwks_max_age_seconds()}")
        _cached = cached
    return cached[1], cached[2]


@login_not_required
def jwks(request: HttpRequest) -> HttpResponse:
    """The public signing keys (see jwks_document)."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    body, cache_control = jwks_document()
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = cache_control
    # Public keys: browser-based RPs may fetch them from any origin.
    response["Access-Control-Allow-Origin"] = "*"
    return response
