"""Throttling of failed client authentication at the token, revocation and introspection endpoints.

A failure is an answer of 401 `invalid_client` (unknown client, wrong secret, no credentials for a
confidential client). Two limits, counted in shared database rows (security/throttle.py):

- per client IP: after GATEHOUSE_THROTTLE_CLIENT_AUTH_IP_LIMIT failures in a window, every request
  from that IP to these endpoints gets 429, before any secret is checked;
- per client_id: after GATEHOUSE_THROTTLE_CLIENT_AUTH_CLIENT_LIMIT failures in a window, requests for
  that client_id get 429 only from IPs that themselves failed for it in the window, so a spray of
  wrong secrets cannot lock the real client out of its own address.

The limit that trips writes one `client.auth_throttled` audit event per window (in the client's org
when the client_id names an application, else platform-level); never the secret.

Cost: a valid request must not gain a statement (the token endpoint's throughput is a requirement),
so failures are counted after the answer, and the shared counters are read before a request only
for an IP or client_id that this process has seen reach its limit (a small, bounded memory that
forgets each entry when its window ends). This is sound: the counters are the truth and every
process counts every failure into them; a process that has not yet seen a blocked IP lets one more
attempt through (one per thread in flight), whose failure is counted, comes back past the limit and
teaches it, so a blocked IP gains at most one extra attempt per worker process before the shared
counter stops it. An entry pushed out of the full memory costs that one attempt again.
"""

import base64
import binascii
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone

from applications.models import Application
from audit.services import audit_record
from security.keys import ip_bucket
from security.throttle import ThrottleDecision, throttle_count, throttle_hit, throttle_peek

# Read once: the wrapper runs on the token endpoint's hot path.
IP_LIMIT: int = settings.GATEHOUSE_THROTTLE_CLIENT_AUTH_IP_LIMIT
IP_WINDOW_SECONDS: int = settings.GATEHOUSE_THROTTLE_CLIENT_AUTH_IP_WINDOW_SECONDS
CLIENT_LIMIT: int = settings.GATEHOUSE_THROTTLE_CLIENT_AUTH_CLIENT_LIMIT
CLIENT_WINDOW_SECONDS: int = settings.GATEHOUSE_THROTTLE_CLIENT_AUTH_CLIENT_WINDOW_SECONDS

ACTION = "client.auth_throttled"
MEMORY_SIZE = 10_000  # entries per kind (IPs, client_ids) a process remembers
_CLIENT_ID_MAX = Application._meta.get_field("client_id").max_length
_REMEMBERED_CHARS = 256  # longer client_ids name no application; the memory is only a hint

# key -> POSIX time the remembered window ends. Read without the lock (single dict operations are
# atomic in CPython); changed under it.
_blocked_ips: dict[str, float] = {}
_blocked_clients: dict[str, float] = {}
_memory_lock = threading.Lock()


def _now() -> datetime:
    return timezone.now()


def _ip_key(bucket: str) -> str:
    return f"client-auth-ip:{bucket}"


def _client_key(client_id: str) -> str:
    return f"client-auth-client:{client_id}"


def _pair_key(client_id: str, bucket: str) -> str:
    return f"client-auth-client-ip:{client_id}\x1f{bucket}"


# ---------------------------------------------------------------- per-process memory


def _remembered_until(memory: dict[str, float], key: str, now: float) -> float | None:
    until = memory.get(key)
    if until is None:
        return None
    if until <= now:
        memory.pop(key, None)
        return None
    return until


def _remember(memory: dict[str, float], key: str, until: float, now: float) -> None:
    with _memory_lock:
        if key not in memory and len(memory) >= MEMORY_SIZE:
            for old, old_until in list(memory.items()):
                if old_until <= now:
                    del memory[old]
            while len(memory) >= MEMORY_SIZE:
                del memory[next(iter(memory))]  # the oldest entry: it costs one extra attempt
        memory[key] = until


def client_auth_memory_empty() -> bool:
    """True while this process remembers no blocked IP or client: the wrapper then does no work at all,
    and config/wsgi.py's fast path may answer a machine's token request without it."""
    return not _blocked_ips and not _blocked_clients


def client_auth_memory_clear() -> None:
    """Forget what this process remembers (a fresh process; tests)."""
    with _memory_lock:
        _blocked_ips.clear()
        _blocked_clients.clear()


# ---------------------------------------------------------------- the request


def _client_ip(request: HttpRequest) -> str:
    return getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR", "") or ""


def _client_id(request: HttpRequest) -> str:
    """The client_id a request authenticates as, read as DOT reads it (Basic first, else the body);
    "" when there is none or it cannot be read."""
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip()).decode(request.encoding or "utf-8")
        except (binascii.Error, UnicodeDecodeError, LookupError, ValueError):
            return ""
        return unquote_plus(decoded.partition(":")[0])
    try:
        client_id = request.POST.get("client_id", "")
    except (MultiPartParserError, SuspiciousOperation, UnicodeDecodeError):
        return ""
    return client_id if isinstance(client_id, str) else ""  # type: ignore[redundant-expr]  # a guard, kept


def _too_many_requests(retry_after: int) -> HttpResponse:
    response = JsonResponse({
        "error": "too_many_requests",
        "error_description": (f"Too many failed client authentications. Wait {retry_after} seconds, then "
                              "retry with the correct client_id and client secret."),
    }, status=429)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """429 for a request from a remembered IP, or for a remembered client from an IP that failed for
    it, when the shared counters still say so."""
    now = _now()
    stamp = now.timestamp()
    bucket = ip_bucket(_client_ip(request))
    if _blocked_ips and _remembered_until(_blocked_ips, bucket, stamp) is not None:
        decision = throttle_peek(key=_ip_key(bucket), limit=IP_LIMIT, window_seconds=IP_WINDOW_SECONDS, now=now)
        if not decision.allowed:
            return _too_many_requests(decision.retry_after)
        _blocked_ips.pop(bucket, None)  # the counters were reset (pruned, or an operator cleared them)
    if _blocked_clients:
        client_id = _client_id(request)
        remembered = client_id[:_REMEMBERED_CHARS]
        # The pair first: the real client, which never failed from its address, costs one SELECT.
        if (client_id and _remembered_until(_blocked_clients, remembered, stamp) is not None
                and throttle_count(key=_pair_key(client_id, bucket), window_seconds=CLIENT_WINDOW_SECONDS, now=now)):
            decision = throttle_peek(key=_client_key(client_id), limit=CLIENT_LIMIT,
                                     window_seconds=CLIENT_WINDOW_SECONDS, now=now)
            if not decision.allowed:
                return _too_many_requests(decision.retry_after)
            _blocked_clients.pop(remembered, None)
    return None


# ---------------------------------------------------------------- counting failures


@dataclass(frozen=True)
class FailureCount:
    ip: ThrottleDecision
    client: ThrottleDecision | None  # None when the request named no client


def _audit_client_id(client_id: str) -> str:
    # JSON columns (PostgreSQL's jsonb) refuse NUL; a client_id past the column's length names nothing.
    return client_id[:_CLIENT_ID_MAX].replace("\x00", "\\x00")


def _application(client_id: str) -> Application | None:
    if not client_id or len(client_id) > _CLIENT_ID_MAX or "\x00" in client_id:
        return None  # cannot name an application (and PostgreSQL refuses NUL in text)
    return Application.objects.select_related("org").filter(client_id=client_id).first()


def _throttled_audit(*, request: HttpRequest, client_id: str, bucket: str, limit: str, failures: int,
                     window_seconds: int) -> None:
    application = _application(client_id)
    audit_record(action=ACTION, actor=None, org=application.org if application else None, target=application,
                 request=request,
                 metadata={"client_id": _audit_client_id(client_id), "ip": _client_ip(request), "ip_bucket": bucket,
                           "limit": limit, "failures": failures, "window_seconds": window_seconds})


@transaction.atomic
def client_auth_failure_record(*, request: HttpRequest, client_id: str, now: datetime) -> FailureCount:
    """Count one failed client authentication for the request's IP and, when it named one, for its
    client_id (and the pair, which the per-client limit checks). The failure that brings a count to
    its limit writes the audit event: exactly one request in a window sees that count."""
    bucket = ip_bucket(_client_ip(request))
    ip = throttle_hit(key=_ip_key(bucket), limit=IP_LIMIT, window_seconds=IP_WINDOW_SECONDS, now=now)
    if ip.count == IP_LIMIT:
        _throttled_audit(request=request, client_id=client_id, bucket=bucket, limit="ip", failures=ip.count,
                         window_seconds=IP_WINDOW_SECONDS)
    if not client_id:
        return FailureCount(ip=ip, client=None)
    throttle_hit(key=_pair_key(client_id, bucket), limit=CLIENT_LIMIT, window_seconds=CLIENT_WINDOW_SECONDS, now=now)
    client = throttle_hit(key=_client_key(client_id), limit=CLIENT_LIMIT, window_seconds=CLIENT_WINDOW_SECONDS,
                          now=now)
    if client.count == CLIENT_LIMIT:
        _throttled_audit(request=request, client_id=client_id, bucket=bucket, limit="client",
                         failures=client.count, window_seconds=CLIENT_WINDOW_SECONDS)
    return FailureCount(ip=ip, client=client)


def _failed(request: HttpRequest) -> None:
    now = _now()
    client_id = _client_id(request)
    counted = client_auth_failure_record(request=request, client_id=client_id, now=now)
    stamp = now.timestamp()
    if counted.ip.count >= IP_LIMIT and counted.ip.window_end is not None:
        _remember(_blocked_ips, ip_bucket(_client_ip(request)), counted.ip.window_end.timestamp(), stamp)
    client = counted.client
    if client is not None and client.count >= CLIENT_LIMIT and client.window_end is not None:
        _remember(_blocked_clients, client_id[:_REMEMBERED_CHARS], client.window_end.timestamp(), stamp)


def _is_client_auth_failure(response: HttpResponse) -> bool:
    return (response.status_code == 401 and not response.streaming
            and b'"invalid_client"' in response.content)


def with_client_auth_throttle(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap an endpoint that authenticates clients: refuse throttled requests, count failures."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if _blocked_ips or _blocked_clients:  # empty unless some limit was reached: no work at all
            refusal = _refusal(request)
            if refusal is not None:
                return refusal
        response = view(request, *args, **kwargs)
        if response.status_code == 401 and _is_client_auth_failure(response):
            _failed(request)
        return response

    return wrapped
