"""Fixed-window throttles counted in database rows, shared by every process.

Chosen over the cache: the embedded default has no Redis and a per-process cache would let each
worker count on its own; one row per (key, window) with an atomic increment behaves the same on
SQLite and PostgreSQL, and a throttle hit is already a rare, failed-attempt path.
"""

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from security.keys import counter_key
from security.models import ThrottleCounter


@dataclass(frozen=True)
class ThrottleDecision:
    allowed: bool
    retry_after: int  # seconds until a retry may succeed (0 when allowed)
    # The hits counted in the window (with this one, for throttle_hit) and when the window ends:
    # a caller that must act once per window acts on the hit whose count equals the limit.
    count: int = field(default=0, compare=False)
    window_end: datetime | None = field(default=None, compare=False)


def _window(now: datetime, window_seconds: int) -> tuple[datetime, datetime]:
    # Windows are aligned to the epoch, so every process agrees on them without talking.
    epoch = int(now.timestamp())
    start = datetime.fromtimestamp(epoch - epoch % window_seconds, tz=UTC)
    return start, start + timedelta(seconds=window_seconds)


def _decision(count: int, limit: int, window_end: datetime, now: datetime) -> ThrottleDecision:
    if count <= limit:
        return ThrottleDecision(allowed=True, retry_after=0, count=count, window_end=window_end)
    return ThrottleDecision(allowed=False, retry_after=max(1, math.ceil((window_end - now).total_seconds())),
                            count=count, window_end=window_end)


def throttle_hit(*, key: str, limit: int, window_seconds: int, now: datetime | None = None) -> ThrottleDecision:
    """Count one hit on `key` and say whether it is within `limit` hits per window.

    The increment and the read happen in one transaction that holds the row (PostgreSQL's row
    lock from the UPDATE; SQLite's write lock), so N parallel hits see counts 1..N exactly.
    `key` is hashed before it is stored.
    """
    now = now or timezone.now()
    start, end = _window(now, window_seconds)
    hashed = counter_key(key)
    rows = ThrottleCounter.objects.filter(key=hashed, window_start=start)
    with transaction.atomic():
        if not rows.update(count=F("count") + 1):
            try:
                with transaction.atomic():
                    ThrottleCounter.objects.create(key=hashed, window_start=start, count=1, expires_at=end)
            except IntegrityError:
                # Another process created the row between our UPDATE and INSERT: count on it.
                rows.update(count=F("count") + 1)
        count = rows.values_list("count", flat=True).get()
    return _decision(count, limit, end, now)


def throttle_count(*, key: str, window_seconds: int, now: datetime | None = None) -> int:
    """The hits counted on `key` in the window containing `now` (one SELECT, counts nothing)."""
    start, _ = _window(now or timezone.now(), window_seconds)
    return (ThrottleCounter.objects.filter(key=counter_key(key), window_start=start)
            .values_list("count", flat=True).first()) or 0


def throttle_peek(*, key: str, limit: int, window_seconds: int, now: datetime | None = None) -> ThrottleDecision:
    """Whether one more hit on `key` would still be allowed, without counting one."""
    now = now or timezone.now()
    _, end = _window(now, window_seconds)
    return _decision(throttle_count(key=key, window_seconds=window_seconds, now=now) + 1, limit, end, now)


def throttle_forgive(*, key: str, window_seconds: int, now: datetime | None = None) -> None:
    """Take back one hit counted by `throttle_hit` in the window containing `now` (e.g. the
    attempt turned out to be a successful sign-in). Never goes below zero."""
    now = now or timezone.now()
    start, _ = _window(now, window_seconds)
    ThrottleCounter.objects.filter(key=counter_key(key), window_start=start, count__gt=0).update(
        count=F("count") - 1
    )


def throttle_counters_prune(*, now: datetime | None = None) -> int:
    """Delete counters whose window has ended. Returns how many went."""
    deleted, _ = ThrottleCounter.objects.filter(expires_at__lt=now or timezone.now()).delete()
    return deleted
