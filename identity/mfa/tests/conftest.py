"""The MFA tests' counters: the code throttle is tested on database rows and on Redis (`services`)."""

from collections.abc import Iterator

import pytest

from security import counters
from security.counters import CounterBackend, DatabaseCounters
from security.tests.counter_support import redis_backend


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.services)])
def counter_backend(request, monkeypatch) -> Iterator[CounterBackend]:
    """Counters on one backend, whatever GATEHOUSE_COUNTERS says, empty at the start and the end."""
    backend = redis_backend() if request.param == "redis" else DatabaseCounters()
    if request.param == "redis":
        backend.clear()
    monkeypatch.setattr(counters, "BACKEND", backend)
    yield backend
    if request.param == "redis":
        backend.clear()
