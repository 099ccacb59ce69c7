"""throttle_hit: fixed windows on the shared counters, hashed keys, forgiving and pruning, on both backends."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from identity import throttle as identity_throttle
from security import throttle
from security.counters import REDIS_EXPIRY_GRACE_SECONDS, DatabaseCounters, RedisCounters
from security.keys import counter_key
from security.tasks import security_counters_prune
from security.tests.counter_support import stored
from security.throttle import (
    ThrottleDecision,
    throttle_count,
    throttle_counters_prune,
    throttle_forgive,
    throttle_hit,
    throttle_peek,
    throttle_reset,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("counter_backend")]

# 100 s into a 900 s window that starts at 12:00:00 UTC.
T0 = datetime(2030, 1, 1, 12, 1, 40, tzinfo=UTC)
WINDOW_12_00 = int(datetime(2030, 1, 1, 12, 0, tzinfo=UTC).timestamp())


def _hits(n, *, key="k", limit=3, window=900, now=T0):
    return [throttle_hit(key=key, limit=limit, window_seconds=window, now=now) for _ in range(n)]


def test_identity_re_exports_the_same_throttle():
    assert identity_throttle.throttle_hit is throttle.throttle_hit
    assert identity_throttle.ThrottleDecision is throttle.ThrottleDecision


def test_hits_up_to_the_limit_are_allowed_then_refused_until_the_window_ends(counter_backend):
    decisions = _hits(5)

    assert decisions[:3] == [ThrottleDecision(allowed=True, retry_after=0)] * 3
    assert decisions[3:] == [ThrottleDecision(allowed=False, retry_after=800)] * 2
    assert stored(counter_backend) == {f"{counter_key('k')}:{WINDOW_12_00}": 5}


def test_a_new_window_starts_from_zero(counter_backend):
    _hits(4)

    later = T0 + timedelta(seconds=800)  # 12:15:00, the next window
    assert throttle_hit(key="k", limit=3, window_seconds=900, now=later).allowed
    assert sorted(stored(counter_backend).values()) == [1, 4]


def test_keys_are_counted_separately_and_stored_hashed(counter_backend):
    _hits(4, key="login-ip:203.0.113.7")

    assert throttle_hit(key="login-ip:203.0.113.8", limit=3, window_seconds=900, now=T0).allowed
    keys = [name.rpartition(":")[0] for name in stored(counter_backend)]
    assert len(keys) == 2
    assert all(len(key) == 64 and "203.0.113" not in key for key in keys)


def test_a_decision_carries_the_count_and_the_windows_end(counter_backend):
    decisions = _hits(4)

    assert [decision.count for decision in decisions] == [1, 2, 3, 4]
    assert {decision.window_end for decision in decisions} == {datetime(2030, 1, 1, 12, 15, tzinfo=UTC)}
    assert throttle_count(key="k", window_seconds=900, now=T0) == 4
    assert throttle_count(key="other", window_seconds=900, now=T0) == 0
    assert list(stored(counter_backend).values()) == [4]


def test_peek_counts_nothing(counter_backend):
    _hits(2)

    assert throttle_peek(key="k", limit=3, window_seconds=900, now=T0).allowed
    assert list(stored(counter_backend).values()) == [2]
    _hits(1)
    assert throttle_peek(key="k", limit=3, window_seconds=900, now=T0) == ThrottleDecision(False, 800)


def test_forgive_takes_back_one_hit_and_never_goes_below_zero(counter_backend):
    _hits(3)
    throttle_forgive(key="k", window_seconds=900, now=T0)
    assert list(stored(counter_backend).values()) == [2]
    assert _hits(1)[0].allowed

    for _ in range(5):
        throttle_forgive(key="k", window_seconds=900, now=T0)
    assert list(stored(counter_backend).values()) == [0]
    throttle_forgive(key="never-hit", window_seconds=900, now=T0)  # nothing to forgive: no error, no count
    assert len(stored(counter_backend)) == 1
    assert throttle_count(key="never-hit", window_seconds=900, now=T0) == 0


def test_reset_forgets_the_window_and_only_that_key(counter_backend):
    _hits(4)
    _hits(2, key="other")

    throttle_reset(key="k", window_seconds=900, now=T0)

    assert throttle_count(key="k", window_seconds=900, now=T0) == 0
    assert throttle_hit(key="k", limit=3, window_seconds=900, now=T0).count == 1
    assert throttle_count(key="other", window_seconds=900, now=T0) == 2


def test_prune_deletes_only_ended_windows_and_has_nothing_to_do_on_redis(counter_backend):
    _hits(1, now=T0)
    _hits(1, now=T0 + timedelta(hours=1))

    pruned = throttle_counters_prune(now=T0 + timedelta(minutes=30))

    if isinstance(counter_backend, DatabaseCounters):
        assert pruned == 1
        assert len(stored(counter_backend)) == 1
    else:
        assert pruned == 0  # keys expire by themselves (see the TTL test below)
        assert len(stored(counter_backend)) == 2
    # Either way the current window's count is untouched.
    assert throttle_count(key="k", window_seconds=900, now=T0 + timedelta(hours=1)) == 1


def test_in_real_time_a_window_ends_and_the_count_starts_over(counter_backend):
    window = 1
    while time.time() % window > 0.3:  # start early in a window, so two hits surely share it
        time.sleep(0.05)
    first = _hits(2, limit=1, window=window, now=None)
    assert [d.allowed for d in first] == [True, False]

    if isinstance(counter_backend, RedisCounters):
        # The key expires at its window's end (plus the grace), the same instant for every process.
        [name] = counter_backend.client.scan_iter(match="gatehouse:counter:*")
        expires_ms = counter_backend.client.pexpiretime(name)
        assert expires_ms == int((first[0].window_end.timestamp() + REDIS_EXPIRY_GRACE_SECONDS) * 1000)
        assert 0 < counter_backend.client.pttl(name) <= (window + REDIS_EXPIRY_GRACE_SECONDS) * 1000

    time.sleep(max(0.0, first[0].window_end.timestamp() - time.time()) + 0.05)
    second = throttle_hit(key="k", limit=1, window_seconds=window)
    assert (second.allowed, second.count) == (True, 1)
    assert sorted(stored(counter_backend).values()) == [1, 2]


def test_the_periodic_prune_task_is_harmless_on_either_backend(counter_backend):
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    _hits(2, now=an_hour_ago)  # a window that ended long ago
    _hits(1, key="current", now=None)
    ended = 1 if isinstance(counter_backend, DatabaseCounters) else 0  # Redis let that key expire itself

    assert len(stored(counter_backend)) == 1 + ended
    assert security_counters_prune() == {"throttle_counters_deleted": ended, "signin_locks_deleted": 0}
    assert security_counters_prune() == {"throttle_counters_deleted": 0, "signin_locks_deleted": 0}
    assert list(stored(counter_backend).values()) == [1]
