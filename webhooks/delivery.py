"""Delivering a webhook: claim the row, sign the body, POST it to the checked address, record the outcome.

The shape is the outbox's (config/outbox.py): a task claims its row with a conditional UPDATE; the
sweeper (tasks.webhook_sweep, every minute) is the one retrier. Retry policy, each a setting with its
default in brackets: after the n-th failure the next attempt is due after base × 2^(n−1) seconds,
capped, with equal jitter — GATEHOUSE_WEBHOOKS_RETRY_BASE_SECONDS [30], GATEHOUSE_WEBHOOKS_RETRY_CAP_SECONDS
[3600]; after GATEHOUSE_WEBHOOKS_MAX_ATTEMPTS [8] the row is dead (an admin can requeue it). Each POST
times out after GATEHOUSE_WEBHOOKS_TIMEOUT_SECONDS [5].

A POST carries the JSON body and the Standard Webhooks headers: `webhook-id` (the row's message id, the
same at every attempt), `webhook-timestamp` (this attempt's time) and `webhook-signature` (`v1,` and the
HMAC-SHA256 of `id.timestamp.body` with the endpoint's secret, made by the `standardwebhooks` library;
for a day after a new secret is made, a second `v1,…` by the old one).
Redirects are not followed and no proxy is used; any 2xx is sent, anything else (or no answer) failed,
recorded with the status code and a short excerpt. The target is checked again at each attempt and the
connection goes to the address that was checked (targets.py). Delivery is at least once: a worker that
dies after the receiver answered leaves the row `sending`, and the sweeper sends it again (same id).
A worker that dies also strands the rest of the tasks it had taken off the broker: the sweeper hands
their rows over again after REDISPATCH_AFTER (a minute).
"""

import http.client
import json
import logging
import socket
import ssl
import time
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from config.encryption import decrypt
from config.outbox import (
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
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.targets import Target, TargetRefused, TargetUnresolved, resolve

logger = logging.getLogger(__name__)

INTERRUPTED_ERROR = ("Delivery was interrupted (the worker stopped while sending); the endpoint may have "
                     "received the event already.")
USER_AGENT = "Gatehouse-Webhooks/1"
# A task a worker took off the broker and then died with (SIGKILL, out of memory, a lost machine) stays
# unacknowledged in the broker for its visibility timeout (Redis: an hour), so the sweeper hands the rows
# of a task that has not run within this delay over again. The HTTP outboxes' shared five minutes was the
# whole recovery time of a killed worker's batch (bench/RESULTS.md, #12); a minute brings it to one or two
# sweeps. The cost: while a backlog older than a minute waits in the broker, each sweep hands its oldest
# rows (at most a sweep's batch) over once more, and those tasks find the rows taken and do nothing.
# Rows a dead worker had claimed come back after HTTP_SENDING_TIMEOUT (60 s): an attempt's timeout applies
# to each connect and read, to each address, so an attempt can outlast it, and a shorter lease would send
# deliveries still in flight a second time.
REDISPATCH_AFTER = timedelta(seconds=60)


def retry_policy() -> RetryPolicy:
    """The retry knobs, read when used so tests and operators can change them."""
    return RetryPolicy(
        max_attempts=max(1, settings.GATEHOUSE_WEBHOOKS_MAX_ATTEMPTS),
        retry_base=float(settings.GATEHOUSE_WEBHOOKS_RETRY_BASE_SECONDS),
        retry_cap=float(settings.GATEHOUSE_WEBHOOKS_RETRY_CAP_SECONDS),
        sending_timeout=HTTP_SENDING_TIMEOUT,
        redispatch_after=REDISPATCH_AFTER,
    )


class DeliveryFailed(Exception):
    """The endpoint did not take the event this time; a retry may succeed."""

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.status_code = status_code


class DeliveryRefused(Exception):
    """Gatehouse will not send this delivery as things are now: retrying cannot help."""


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address, whatever the host name resolves to by now."""

    def __init__(self, target: Target, address: str, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address, with the certificate checked against the URL's host name."""

    def __init__(self, target: Target, address: str, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def signed_headers(*, secrets: list[str], message_id: str, body: bytes, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers for one attempt: one `v1,…` signature per secret, space-separated."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(Webhook(secret).sign(msg_id=message_id, timestamp=now, data=body)
                                      for secret in secrets),
    }


def endpoint_secrets(endpoint: WebhookEndpoint, *, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one while its overlap lasts."""
    secrets = [decrypt(endpoint.secret_encrypted)]
    if endpoint.previous_secret_encrypted and endpoint.previous_secret_expires_at and \
            endpoint.previous_secret_expires_at > now:
        secrets.append(decrypt(endpoint.previous_secret_encrypted))
    return secrets


def post(target: Target, *, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST to the first address of `target` that accepts a connection; returns the 2xx status code."""
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    last_error: Exception | None = None
    for address in target.addresses:
        connection = connection_class(target, address, timeout)
        try:
            connection.request("POST", target.path, body=body, headers={
                "Content-Type": "application/json", "User-Agent": USER_AGENT, "Accept": "*/*", **headers})
            response = connection.getresponse()
            excerpt = response_excerpt(response.read(RESPONSE_EXCERPT_CHARS))
        except ConnectionRefusedError as exc:  # try the name's next address
            last_error = exc
            continue
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:500]) from None
        finally:
            connection.close()
        if 200 <= response.status < 300:
            return response.status
        raise DeliveryFailed(f"HTTP {response.status}" + (f": {excerpt}" if excerpt else ""),
                             status_code=response.status)
    raise DeliveryFailed(f"{type(last_error).__name__}: {last_error}"[:500])


def webhook_deliver(*, delivery_id: int, force: bool = False) -> str | None:
    """Claim the row, POST the signed event, record the outcome and the attempt. Returns the new status, or
    None if this call did not claim the row (already sent, being sent, dead, or not due yet)."""
    policy = retry_policy()
    claimed_at = timezone.now()
    if not outbox_claim(WebhookDelivery, delivery_id, now=claimed_at, force=force):
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    status_code = None
    started = time.monotonic()
    try:
        if not endpoint.is_active:
            raise DeliveryRefused("The endpoint is disabled.")
        try:
            target = resolve(endpoint.url)
        except TargetUnresolved as exc:  # a name that does not resolve may again later
            raise DeliveryFailed(str(exc)) from None
        except TargetRefused as exc:  # refused by rule: retrying the same rule cannot help
            raise DeliveryRefused(str(exc)) from None
        body = json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()
        now = datetime.now(UTC)
        headers = signed_headers(secrets=endpoint_secrets(endpoint, now=now), message_id=delivery.message_id,
                                 body=body, now=now)
        status_code = post(target, body=body, headers=headers, timeout=settings.GATEHOUSE_WEBHOOKS_TIMEOUT_SECONDS)
    except DeliveryRefused as exc:
        error = str(exc)
        outcome = outcome_dead(error=error)
    except DeliveryFailed as exc:
        error, status_code = str(exc), exc.status_code
        logger.warning("Webhook delivery %s to endpoint %s failed (attempt %d): %s", delivery_id, endpoint.pk,
                       delivery.attempts, exc)
        outcome = outcome_failed(attempts=delivery.attempts, error=error, policy=policy, now=timezone.now())
    else:
        error = ""
        outcome = outcome_sent(now=timezone.now())
    # The attempt and the outcome in one commit: a commit's flush, not the POST, is what a delivery waits on most.
    with transaction.atomic():
        WebhookAttempt.objects.create(delivery_id=delivery_id, attempted_at=claimed_at, status_code=status_code,
                                      error=error[:500], duration_ms=int((time.monotonic() - started) * 1000))
        recorded = outbox_record(WebhookDelivery, delivery_id, claimed_at=claimed_at,
                                 outcome={**outcome, "last_status_code": status_code})
    if not recorded:
        logger.warning("Webhook delivery %s: outcome %s not recorded, the row was taken back meanwhile",
                       delivery_id, outcome["status"])
        return None
    return outcome["status"]


def webhook_due(*, batch_size: int = 1000) -> dict:
    """The sweeper's selection: take back rows stuck in `sending`, then the ids due now (marked handed over)."""
    policy = retry_policy()
    result = outbox_reclaim_stuck(WebhookDelivery, policy=policy, error=INTERRUPTED_ERROR)
    return {**result, "ids": outbox_take_due(WebhookDelivery, policy=policy, batch_size=batch_size)}
