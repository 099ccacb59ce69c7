"""Reading what the counter backends store, the same way for database rows and Redis keys."""

import pytest
from django.conf import settings
from django_redis import get_redis_connection

from security.counters import REDIS_PREFIX, CounterBackend, DatabaseCounters, RedisCounters
from security.models import ThrottleCounter


def redis_backend() -> RedisCounters:
    """The Redis backend on REDIS_URL, without the database fallback, so a Redis error fails the test.
    Fails (never skips) when REDIS_URL is missing: a `services` test is run by .ci/run."""
    if not settings.REDIS_URL:
        pytest.fail("a services test: set REDIS_URL (e.g. redis://127.0.0.1:6379/7) as .ci/run does")
    return RedisCounters(get_redis_connection("default"))


def stored(backend: CounterBackend) -> dict[str, int]:
    """Every stored count, as {"<hashed key>:<window start, POSIX seconds>": count}."""
    if isinstance(backend, DatabaseCounters):
        return {f"{row.key}:{int(row.window_start.timestamp())}": row.count for row in ThrottleCounter.objects.all()}
    assert isinstance(backend, RedisCounters)
    names = sorted(name.decode() for name in backend.client.scan_iter(match=f"{REDIS_PREFIX}*"))
    return {name.removeprefix(REDIS_PREFIX): int(backend.client.get(name)) for name in names}
