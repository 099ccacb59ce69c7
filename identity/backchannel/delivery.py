"""Delivering a back-channel logout: claim the row, mint the token, POST it, record the outcome.

The shape is the outbox's (config/outbox.py): a task claims its row with a conditional UPDATE; the
sweeper (tasks.backchannel_logout_sweep, every minute) is the one retrier. Retry policy, each a
setting with its default in brackets: after the n-th failure the next attempt is due after
base × 2^(n−1) seconds, capped, with equal jitter — GATEHOUSE_BACKCHANNEL_RETRY_BASE_SECONDS [30],
GATEHOUSE_BACKCHANNEL_RETRY_CAP_SECONDS [3600]; after GATEHOUSE_BACKCHANNEL_MAX_ATTEMPTS [8] the row
is dead. Each POST times out after GATEHOUSE_BACKCHANNEL_TIMEOUT_SECONDS [5].

A POST is `application/x-www-form-urlencoded` `logout_token=<jwt>`; redirects are not followed; any
2xx is sent, anything else (or no answer) failed, recorded as the status or the error's class with at
most a short excerpt of the body. The token is minted at each attempt, so it is never expired and
always signed by the key JWKS publishes now. Delivery is at least once: a worker that dies after the
app answered leaves the row `sending`, and the sweeper sends it again (a new jti, the same sub and sid).
"""

import http.client
import ipaddress
import logging
import socket
import urllib.request
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.utils import timezone

from applications.uri_checks import backchannel_logout_uri_problem
from config.outbox import (
    HTTP_REDISPATCH_AFTER,
    HTTP_SENDING_TIMEOUT,
    RESPONSE_EXCERPT_CHARS,
    RetryPolicy,
    outbox_claim,
    outbox_reclaim_stuck,
    outbox_record,
    outbox_take_due,
    outcome_dead,
    outcome_failed,
    outcome_sent,
    response_excerpt,
)
from identity.backchannel.models import BackchannelLogout
from identity.backchannel.token import logout_token_mint

logger = logging.getLogger(__name__)

INTERRUPTED_ERROR = ("Delivery was interrupted (the worker stopped while sending); the application may have "
                     "received the logout token already.")


def retry_policy() -> RetryPolicy:
    """The retry knobs, read when used so tests and operators can change them."""
    return RetryPolicy(
        max_attempts=max(1, settings.GATEHOUSE_BACKCHANNEL_MAX_ATTEMPTS),
        retry_base=float(settings.GATEHOUSE_BACKCHANNEL_RETRY_BASE_SECONDS),
        retry_cap=float(settings.GATEHOUSE_BACKCHANNEL_RETRY_CAP_SECONDS),
        sending_timeout=HTTP_SENDING_TIMEOUT,
        redispatch_after=HTTP_REDISPATCH_AFTER,
    )


class DeliveryFailed(Exception):
    """The app did not take the token this time; a retry may succeed."""


class DeliveryRefused(Exception):
    """Gatehouse will not send to this app as it is registered now: retrying cannot help."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect is not a delivery (and following one could aim the POST anywhere): urllib then
    # raises HTTPError with the 3xx status, recorded as a failure.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


# No proxies from the environment: the registered URI is the one place a token goes.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def _reaches_own_machine(uri: str) -> bool:
    """Whether a name that is not itself a loopback host resolves to one (or to 0.0.0.0, which reaches
    this machine too). A failed lookup is left to the POST, which then fails and says so."""
    parts = urlsplit(uri)
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address.is_loopback or address.is_unspecified:
            return True
    return False


def _post(uri: str, token: str) -> None:
    problem = backchannel_logout_uri_problem(uri) if uri else "The application no longer has a back-channel logout URI."
    if problem:
        raise DeliveryRefused(problem)
    if not settings.GATEHOUSE_BACKCHANNEL_ALLOW_LOOPBACK and _reaches_own_machine(uri):
        raise DeliveryRefused(f"{urlsplit(uri).hostname} resolves to this server's own machine, which this "
                              "deployment does not allow.")
    # The scheme is http or https: backchannel_logout_uri_problem refused anything else above.
    request = urllib.request.Request(  # noqa: S310
        uri, data=urlencode({"logout_token": token}).encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "*/*",
                 "User-Agent": "Gatehouse back-channel logout", "Cache-Control": "no-store"})
    try:
        with _OPENER.open(request, timeout=settings.GATEHOUSE_BACKCHANNEL_TIMEOUT_SECONDS) as response:
            response.read(RESPONSE_EXCERPT_CHARS)
    except HTTPError as exc:
        body = response_excerpt(exc.read(RESPONSE_EXCERPT_CHARS)) if exc.fp is not None else ""
        raise DeliveryFailed(f"HTTP {exc.code}" + (f": {body}" if body else "")) from None
    except URLError as exc:
        reason = exc.reason
        raise DeliveryFailed(f"{type(reason).__name__}: {reason}"[:500]) from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:500]) from None


def backchannel_logout_deliver(*, delivery_id: int, force: bool = False) -> str | None:
    """Claim the row, POST a fresh logout token, record the outcome. Returns the new status, or None
    if this call did not claim the row (already sent, being sent, dead, or not due yet)."""
    policy = retry_policy()
    claimed_at = timezone.now()
    if not outbox_claim(BackchannelLogout, delivery_id, now=claimed_at, force=force):
        return None
    delivery = BackchannelLogout.objects.select_related("application").get(pk=delivery_id)
    application = delivery.application
    try:
        token = logout_token_mint(client_id=application.client_id, subject=delivery.subject, sid=delivery.sid)
        _post(application.backchannel_logout_uri, token)
    except DeliveryRefused as exc:
        outcome = outcome_dead(error=str(exc))
    except DeliveryFailed as exc:
        logger.warning("Back-channel logout %s to %s failed (attempt %d): %s", delivery_id,
                       application.client_id, delivery.attempts, exc)
        outcome = outcome_failed(attempts=delivery.attempts, error=str(exc), policy=policy, now=timezone.now())
    else:
        outcome = outcome_sent(now=timezone.now())
    if not outbox_record(BackchannelLogout, delivery_id, claimed_at=claimed_at, outcome=outcome):
        logger.warning("Back-channel logout %s: outcome %s not recorded, the row was taken back meanwhile",
                       delivery_id, outcome["status"])
        return None
    return outcome["status"]


def backchannel_logout_due(*, batch_size: int = 1000) -> dict:
    """The sweeper's selection: take back rows stuck in `sending`, then the ids due now (marked handed over)."""
    policy = retry_policy()
    result = outbox_reclaim_stuck(BackchannelLogout, policy=policy, error=INTERRUPTED_ERROR)
    return {**result, "ids": outbox_take_due(BackchannelLogout, policy=policy, batch_size=batch_size)}
