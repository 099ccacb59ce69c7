"""throttle_hit: fixed windows counted in database rows, hashed keys, forgiving and pruning."""

from datetime import UTC, datetime, timedelta

import pytest

from identity import throttle as identity_throttle
from security import throttle
from security.models import ThrottleCounter
from security.throttle import (
    ThrottleDecision,
    throttle_count,
    throttle_counters_prune,
    throttle_forgive,
    throttle_hit,
    throttle_peek,
)

pytestmark = pytest.mark.django_db

# 100 s into a 900 s window that starts at 12:00:00 UTC.
T0 = datetime(2030, 1, 1, 12, 1, 40, tzinfo=UTC)


def _hits(n, *, key="k", limit=3, window=900, now=T0):
    return [throttle_hit(key=key, limit=limit, window_seconds=window, now=now) for _ in range(n)]


def test_identity_re_exports_the_same_throttle():
    assert identity_throttle.throttle_hit is throttle.throttle_hit
    assert identity_throttle.ThrottleDecision is throttle.ThrottleDecision


def test_hits_up_to_the_limit_are_allowed_then_refused_until_the_window_ends():
    decisions = _hits(5)

    assert decisions[:3] == [ThrottleDecision(allowed=True, retry_after=0)] * 3
    assert decisions[3:] == [ThrottleDecision(allowed=False, retry_after=800)] * 2
    assert ThrottleCounter.objects.get().count == 5


def test_a_new_window_starts_from_zero():
    _hits(4)

    later = T0 + timedelta(seconds=800)  # 12:15:00, the next window
    assert throttle_hit(key="k", limit=3, window_seconds=900, now=later).allowed
    assert ThrottleCounter.objects.count() == 2


def test_keys_are_counted_separately_and_stored_hashed():
    _hits(4, key="login-ip:203.0.113.7")

    assert throttle_hit(key="login-ip:203.0.113.8", limit=3, window_seconds=900, now=T0).allowed
    stored = list(ThrottleCounter.objects.values_list("key", flat=True))
    assert len(stored) == 2
    assert all(len(key) == 64 and "203.0.113" not in key for key in stored)


def test_a_decision_carries_the_count_and_the_windows_end():
    decisions = _hits(4)

    assert [decision.count for decision in decisions] == [1, 2, 3, 4]
    assert {decision.window_end for decision in decisions} == {datetime(2030, 1, 1, 12, 15, tzinfo=UTC)}
    assert throttle_count(key="k", window_seconds=900, now=T0) == 4
    assert throttle_count(key="other", window_seconds=900, now=T0) == 0
    assert ThrottleCounter.objects.get().count == 4


def test_peek_counts_nothing():
    _hits(2)

    assert throttle_peek(key="k", limit=3, window_seconds=900, now=T0).allowed
    assert ThrottleCounter.objects.get().count == 2
    _hits(1)
    assert throttle_peek(key="k", limit=3, window_seconds=900, now=T0) == ThrottleDecision(False, 800)


def test_forgive_takes_back_one_hit_and_never_goes_below_zero():
    _hits(3)
    throttle_forgive(key="k", window_seconds=900, now=T0)
    assert ThrottleCounter.objects.get().count == 2
    assert _hits(1)[0].allowed

    for _ in range(5):
        throttle_forgive(key="k", window_seconds=900, now=T0)
    assert ThrottleCounter.objects.get().count == 0
    throttle_forgive(key="never-hit", window_seconds=900, now=T0)  # nothing to forgive: no error, no row
    assert ThrottleCounter.objects.count() == 1


def test_prune_deletes_only_ended_windows():
    _hits(1, now=T0)
    _hits(1, now=T0 + timedelta(hours=1))

    assert throttle_counters_prune(now=T0 + timedelta(minutes=30)) == 1
    assert ThrottleCounter.objects.count() == 1
