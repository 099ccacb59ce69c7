"""Where shared counters live: database rows on the embedded default, Redis when REDIS_URL is set."""

import logging
import time
from datetime import datetime
from typing import Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django_redis import get_redis_connection
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from security.models import ThrottleCounter

logger = logging.getLogger(__name__)

REDIS_PREFIX = "gatehouse:counter:"
# A key outlives its window's end by this much: the key's name carries its window, so no later
# window ever reads it, and a Redis clock a little ahead of the web servers' cannot drop a count
# while they still consider its window open.
REDIS_EXPIRY_GRACE_SECONDS = 60
# After Redis fails, this process counts in database rows for this long before trying Redis again,
# so an unreachable Redis costs one connect timeout per process, not one per counter call.
REDIS_RETRY_SECONDS = 10.0

# DECR that stops at zero, atomic on the server (a GET then DECR from here could race).
_FORGIVE_SCRIPT = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


class CounterBackend(Protocol):
    """Counts per (key, window): `key` is already hashed (security/keys.py), `window_start` names the
    window. Every operation is atomic across processes."""

    name: str

    def hit(self, key: str, window_start: datetime, window_end: datetime) -> int:
        """Add one to the window's count and return the new count."""

    def count(self, key: str, window_start: datetime) -> int:
        """The window's count (0 when nothing was counted)."""

    def forgive(self, key: str, window_start: datetime) -> None:
        """Take one back, never below zero."""

    def reset(self, key: str, window_start: datetime) -> None:
        """Forget the window's count."""

    def prune(self, now: datetime) -> int:
        """Delete counts whose window ended before `now`; returns how many went."""

    def clear(self) -> int:
        """Forget every count (an operator starting over; tests); returns how many went."""


class DatabaseCounters:
    """One ThrottleCounter row per (key, window), incremented with UPDATE … count + 1.

    The increment and the read happen in one transaction that holds the row (PostgreSQL's row lock
    from the UPDATE; SQLite's write lock), so N parallel hits see counts 1..N exactly.
    """

    name = "database"

    def hit(self, key: str, window_start: datetime, window_end: datetime) -> int:
        rows = ThrottleCounter.objects.filter(key=key, window_start=window_start)
        with transaction.atomic():
            if not rows.update(count=F("count") + 1):
                try:
                    with transaction.atomic():
                        ThrottleCounter.objects.create(key=key, window_start=window_start, count=1,
                                                       expires_at=window_end)
                except IntegrityError:
                    # Another process created the row between our UPDATE and INSERT: count on it.
                    rows.update(count=F("count") + 1)
            return rows.values_list("count", flat=True).get()

    def count(self, key: str, window_start: datetime) -> int:
        return (ThrottleCounter.objects.filter(key=key, window_start=window_start)
                .values_list("count", flat=True).first()) or 0

    def forgive(self, key: str, window_start: datetime) -> None:
        ThrottleCounter.objects.filter(key=key, window_start=window_start, count__gt=0).update(count=F("count") - 1)

    def reset(self, key: str, window_start: datetime) -> None:
        ThrottleCounter.objects.filter(key=key, window_start=window_start).delete()

    def prune(self, now: datetime) -> int:
        deleted, _ = ThrottleCounter.objects.filter(expires_at__lt=now).delete()
        return deleted

    def clear(self) -> int:
        deleted, _ = ThrottleCounter.objects.all().delete()
        return deleted


class RedisCounters:
    """One Redis key per (key, window): INCR and PEXPIREAT in one MULTI/EXEC.

    The expiry is the window's end (plus a grace), an absolute time every process computes alike, so
    a later hit never stretches a window and keys clean themselves up: nothing to prune.
    """

    name = "redis"

    def __init__(self, client: Redis) -> None:
        self.client = client
        self._forgive = client.register_script(_FORGIVE_SCRIPT)  # loaded on first use, not here

    @staticmethod
    def redis_key(key: str, window_start: datetime) -> str:
        return f"{REDIS_PREFIX}{key}:{int(window_start.timestamp())}"

    def hit(self, key: str, window_start: datetime, window_end: datetime) -> int:
        name = self.redis_key(key, window_start)
        expires_ms = int((window_end.timestamp() + REDIS_EXPIRY_GRACE_SECONDS) * 1000)
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(name)
        pipe.pexpireat(name, expires_ms)
        count, _ = pipe.execute()
        return int(count)

    def count(self, key: str, window_start: datetime) -> int:
        return int(self.client.get(self.redis_key(key, window_start)) or 0)

    def forgive(self, key: str, window_start: datetime) -> None:
        self._forgive(keys=[self.redis_key(key, window_start)])

    def reset(self, key: str, window_start: datetime) -> None:
        self.client.delete(self.redis_key(key, window_start))

    def prune(self, now: datetime) -> int:
        return 0  # every key expires at its window's end

    def clear(self) -> int:
        names = list(self.client.scan_iter(match=f"{REDIS_PREFIX}*", count=1000))
        return self.client.delete(*names) if names else 0


class FailoverCounters:
    """Redis, and database rows for the calls made while Redis cannot be reached (logged).

    Neither failing open nor failing closed: open would let a Redis outage (or an attacker who can
    cause one) lift the lockout and every throttle, so passwords could be guessed without limit;
    closed would turn a cache outage into a sign-in outage that tells every user their address is
    locked. The database is already needed to sign in, and counting there is exactly the embedded
    default, so limits keep holding. Across the switch a window's count is split between the two
    stores, so an outage may grant up to one extra set of attempts per key and window.
    """

    name = "redis"

    def __init__(self, primary: RedisCounters, fallback: DatabaseCounters) -> None:
        self.primary = primary
        self.fallback = fallback
        # Monotonic time until which this process skips Redis; 0.0 while Redis has never failed.
        self.down_until = 0.0

    def _backend(self) -> RedisCounters | DatabaseCounters:
        return self.primary if time.monotonic() >= self.down_until else self.fallback

    def _call(self, method: str, *args):
        backend = self._backend()
        if backend is self.primary:
            try:
                return getattr(self.primary, method)(*args)
            except (RedisConnectionError, RedisTimeoutError) as exc:
                self.down_until = time.monotonic() + REDIS_RETRY_SECONDS
                logger.error("Counters: Redis unreachable (%s); counting in database rows for the next %d s.",
                             exc, REDIS_RETRY_SECONDS)
        return getattr(self.fallback, method)(*args)

    def hit(self, key: str, window_start: datetime, window_end: datetime) -> int:
        return self._call("hit", key, window_start, window_end)

    def count(self, key: str, window_start: datetime) -> int:
        return self._call("count", key, window_start)

    def forgive(self, key: str, window_start: datetime) -> None:
        self._call("forgive", key, window_start)

    def reset(self, key: str, window_start: datetime) -> None:
        self._call("reset", key, window_start)

    def prune(self, now: datetime) -> int:
        # Rows written during an outage are the only thing to delete; Redis keys expire.
        return self.fallback.prune(now)

    def clear(self) -> int:
        return self._call("clear") + self.fallback.clear()


def counters_from_settings() -> CounterBackend:
    """The backend GATEHOUSE_COUNTERS names ("redis" needs REDIS_URL: see config/settings.py)."""
    if settings.GATEHOUSE_COUNTERS == "redis":
        return FailoverCounters(RedisCounters(get_redis_connection("default")), DatabaseCounters())
    return DatabaseCounters()


# Chosen once per process; security/throttle.py reads it at each call, so tests may replace it.
BACKEND: CounterBackend = counters_from_settings()


def redis_counters_clear() -> int:
    """Forget every count this process's backend keeps in Redis; 0 on the database backend.

    For the test suite: database rows roll back with each test's transaction, Redis keys would
    outlive the test and count against the next one.
    """
    backend = BACKEND
    if isinstance(backend, FailoverCounters):
        backend = backend.primary
    return backend.clear() if isinstance(backend, RedisCounters) else 0
