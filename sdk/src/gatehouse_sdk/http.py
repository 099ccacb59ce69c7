"""JSON over HTTP(S) with the standard library: bounded size, a timeout, and one error type."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from . import __version__

USER_AGENT = f"gatehouse-sdk/{__version__}"


class FetchError(Exception):
    """The endpoint could not be reached or did not answer with a JSON object."""


def check_url(url: str, what: str) -> str:
    # urllib also opens file:// and ftp:// URLs: only HTTP(S) may ever be fetched.
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise FetchError(f"{what} must be an http(s) URL, not {url!r}")
    return url


def fetch_json(
    url: str,
    *,
    timeout: float,
    max_bytes: int = 1 << 20,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """GET (or POST `data`) and decode a JSON object; raises FetchError saying what went wrong."""
    check_url(url, "URL")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=data,
        headers={"Accept": "application/json", "User-Agent": USER_AGENT, **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            raw = response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{url} answered HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"{url} could not be reached ({reason})") from exc
    if len(raw) > max_bytes:
        raise FetchError(f"{url} answered more than {max_bytes} bytes")
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise FetchError(f"{url} did not answer JSON") from exc
    if not isinstance(document, dict):
        raise FetchError(f"{url} did not answer a JSON object")
    return document
