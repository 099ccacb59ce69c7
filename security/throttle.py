"""Fixed-window throttles on the shared counters (security/counters.py), the same in every process.

Counts live where GATEHOUSE_COUNTERS says: database rows on the embedded default (a per-process
cache would let each worker count on its own), Redis when REDIS_URL is set. Windows are aligned to
the epoch, so every process agrees on them without talking; keys are hashed before they are stored.
"""

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from security import counters
from security.keys import counter_key


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

    The increment and the read are one atomic step on either backend, so N parallel hits see
    counts 1..N exactly.
    """
    now = now or timezone.now()
    start, end = _window(now, window_seconds)
    count = counters.BACKEND.hit(counter_key(key), start, end)
    return _decision(count, limit, end, now)


def throttle_count(*, key: str, window_seconds: int, now: datetime | None = None) -> int:
    """The hits counted on `key` in the window containing `now` (one read, counts nothing)."""
    start, _ = _window(now or timezone.now(), window_seconds)
    return counters.BACKEND.count(counter_key(key), start)


def throttle_peek(*, key: str, limit: int, window_seconds: int, now: datetime | None = None) -> ThrottleDecision:
    """Whether one more hit on `key` would still be allowed, without counting one."""
    now = now or timezone.now()
    _, end = _window(now, window_seconds)
    return _decision(throttle_count(key=key, window_seconds=window_seconds, now=now) + 1, limit, end, now)


def throttle_forgive(*, key: str, window_seconds: int, now: datetime | None = None) -> None:
    """Take back one hit counted by `throttle_hit` in the window containing `now` (e.g. the
    attempt turned out to be a successful sign-in). Never goes below zero."""
    start, _ = _window(now or timezone.now(), window_seconds)
    counters.BACKEND.forgive(counter_key(key), start)


def throttle_reset(*, key: str, window_seconds: int, now: datetime | None = None) -> None:
    """Forget every hit on `key` in the window containing `now` (e.g. a lockout just consumed them)."""
    start, _ = _window(now or timezone.now(), window_seconds)
    counters.BACKEND.reset(counter_key(key), start)


def throttle_counters_prune(*, now: datetime | None = None) -> int:
    """Delete counters whose window has ended (database rows; Redis keys expire by themselves).
    Returns how many went."""
    return counters.BACKEND.prune(now or timezone.now())
