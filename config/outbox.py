"""The outbox shape every outbox shares (DESIGN.md): claim, backoff, outcome, stuck rows, due rows, requeue.

An outbox row is written in the transaction of the change that needs it; a task claims it with one
conditional UPDATE (pending, or failed and due → sending, attempts + 1), does the work, and records
the outcome only if the row is still its claim; the periodic sweeper is the one retrier: it takes back
rows stuck in `sending` and hands due rows to the broker. The model needs the fields of OutboxFields
(an outbox may declare them itself, as emailqueue's does) and these status values.
"""

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

PENDING, SENDING, SENT, FAILED, DEAD = "pending", "sending", "sent", "failed", "dead"
WAITING = (PENDING, FAILED)
ERROR_MAX = 2000


class OutboxFields(models.Model):
    """The columns the functions below read and write; an outbox model adds its payload."""

    class Status(models.TextChoices):
        PENDING = PENDING, _("Pending")
        SENDING = SENDING, _("Sending")
        SENT = SENT, _("Sent")
        FAILED = FAILED, _("Failed")
        DEAD = DEAD, _("Dead")

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    # When a task last claimed the row; a row still sending long after this was abandoned by a worker
    # that died, and the sweeper takes it back.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # When a task was last handed to the broker, so the sweeper hands a row over again only when that
    # task is due or looks lost, not every minute while a backlog drains.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_waiting(self) -> bool:
        """Still to be done: a worker will pick it up (or retry it) without anyone's help."""
        return self.status in WAITING


class OutboxRow(Protocol):
    """What outbox_requeue sets on a row (an OutboxFields model, or one declaring the same fields)."""

    status: str
    attempts: int
    next_attempt_at: datetime
    dispatched_at: datetime | None


# The HTTP outboxes (webhooks, back-channel logout): a POST times out after a few seconds, so a row still
# `sending` a minute after its claim was abandoned; a row handed to the broker and not taken back within
# five minutes is handed over again; a response is recorded as a short, printable excerpt.
HTTP_SENDING_TIMEOUT = timedelta(seconds=60)
HTTP_REDISPATCH_AFTER = timedelta(seconds=300)
RESPONSE_EXCERPT_CHARS = 200


def response_excerpt(data: bytes) -> str:
    """The start of a receiver's answer, decoded leniently, on one line of printable characters."""
    text = data[:RESPONSE_EXCERPT_CHARS].decode("utf-8", errors="replace")
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    retry_base: float
    retry_cap: float
    sending_timeout: timedelta
    redispatch_after: timedelta


def retry_delay(attempts: int, policy: RetryPolicy) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: base × 2^(n−1), capped, drawn from the
    upper half ("equal jitter") so many rows that failed together do not all come back together."""
    nominal = min(policy.retry_cap, policy.retry_base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=random.uniform(nominal / 2, nominal))


def outbox_claim(model: type[models.Model], pk: int, *, now: datetime, force: bool = False) -> bool:
    """Take the row for this task: one conditional UPDATE, so two tasks never both work on it and a task
    for a row already sent, being sent or dead does nothing. `force` ignores a failed row's backoff."""
    claimable = Q(status__in=WAITING) if force else Q(status=PENDING) | Q(status=FAILED, next_attempt_at__lte=now)
    return bool(model._default_manager.filter(claimable, pk=pk).update(
        status=SENDING, attempts=F("attempts") + 1, claimed_at=now, updated_at=now))


def outcome_sent(*, now: datetime) -> dict[str, Any]:
    return {"status": SENT, "sent_at": now, "last_error": ""}


def outcome_failed(*, attempts: int, error: str, policy: RetryPolicy, now: datetime) -> dict[str, Any]:
    """Failed with a retry due later, or dead once the attempts are used up."""
    if attempts >= policy.max_attempts:
        return {"status": DEAD, "last_error": error[:ERROR_MAX]}
    return {"status": FAILED, "last_error": error[:ERROR_MAX], "next_attempt_at": now + retry_delay(attempts, policy)}


def outcome_dead(*, error: str) -> dict[str, Any]:
    """Retrying cannot help (the receiving side refused for good)."""
    return {"status": DEAD, "last_error": error[:ERROR_MAX]}


def outbox_record(model: type[models.Model], pk: int, *, claimed_at: datetime, outcome: dict[str, Any]) -> bool:
    """Write the outcome if the row is still this task's claim. False: the sweeper took it back meanwhile
    (the task outlived the sending timeout), and the retry it scheduled stands."""
    return bool(model._default_manager.filter(pk=pk, status=SENDING, claimed_at=claimed_at).update(
        **outcome, updated_at=timezone.now()))


def outbox_reclaim_stuck(model: type[models.Model], *, policy: RetryPolicy, error: str,
                         now: datetime | None = None) -> dict[str, int]:
    """Rows still `sending` long after their claim were abandoned by a worker that died: retry them now,
    or mark them dead if that was their last attempt. The work may have been done before the worker
    died; a retry does it again (delivery is at least once)."""
    now = now or timezone.now()
    stale = now - policy.sending_timeout
    stuck = model._default_manager.filter(Q(claimed_at__lt=stale) | Q(claimed_at__isnull=True, updated_at__lt=stale),
                                 status=SENDING)
    dead = stuck.filter(attempts__gte=policy.max_attempts).update(status=DEAD, last_error=error, updated_at=now)
    retried = stuck.filter(attempts__lt=policy.max_attempts).update(
        status=FAILED, last_error=error, next_attempt_at=now, updated_at=now)
    return {"stuck_dead": dead, "stuck_retried": retried}


def outbox_take_due(model: type[models.Model], *, policy: RetryPolicy, batch_size: int = 1000,
                    now: datetime | None = None) -> list[int]:
    """Ids of the rows to hand to the broker now, marked as handed over.

    Due rows are pending ones whose task has not run within the redispatch delay (the broker lost it,
    or was down) and failed ones whose next attempt is due and not yet handed over. Each row is handed
    over at most once per redispatch delay, so a backlog is not multiplied in the broker.
    """
    now = now or timezone.now()
    due = model._default_manager.filter(Q(status=PENDING) | Q(status=FAILED, next_attempt_at__lte=now)).filter(
        Q(dispatched_at__isnull=True)
        | Q(dispatched_at__lt=F("next_attempt_at"))
        | Q(dispatched_at__lte=now - policy.redispatch_after)
    )
    ids = list(due.order_by("next_attempt_at", "id").values_list("pk", flat=True)[:batch_size])
    if ids:
        model._default_manager.filter(pk__in=ids).update(dispatched_at=now)
    return ids


def outbox_undispatched(model: type[models.Model], ids: Iterable[int]) -> None:
    """The broker refused these rows: leave them to the sweeper's next run."""
    model._default_manager.filter(pk__in=list(ids)).update(dispatched_at=None)


def outbox_requeue(row: OutboxRow, *, now: datetime | None = None) -> list[str]:
    """Put a locked row back to pending, due now, with a fresh set of attempts; returns the fields to save."""
    now = now or timezone.now()
    row.status = PENDING
    row.attempts = 0
    row.next_attempt_at = now
    row.dispatched_at = now
    return ["status", "attempts", "next_attempt_at", "dispatched_at", "updated_at"]
