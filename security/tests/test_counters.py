"""Choosing the counter backend, and signing in while Redis cannot be reached (a closed port)."""

import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import Client
from redis import Redis

from audit.models import AuditEvent
from directory.tests.factories import DEFAULT_PASSWORD, UserFactory
from security import counters
from security.counters import DatabaseCounters, FailoverCounters, RedisCounters, counters_from_settings
from security.models import SignInLock, ThrottleCounter
from security.services import signin_failures_count

ROOT = Path(__file__).resolve().parents[2]
CLOSED_PORT = "redis://127.0.0.1:1/0"
LOCKED = "Too many failed sign-in attempts for this email address"
INVALID = "Incorrect email or password."


@pytest.fixture
def redis_down(monkeypatch) -> FailoverCounters:
    """Counters configured for Redis, with Redis on a port where nothing listens."""
    dead = Redis.from_url(CLOSED_PORT, socket_connect_timeout=1, socket_timeout=1)
    backend = FailoverCounters(RedisCounters(dead), DatabaseCounters())
    monkeypatch.setattr(counters, "BACKEND", backend)
    return backend


def test_database_rows_on_the_embedded_default(settings):
    settings.GATEHOUSE_COUNTERS = "database"
    assert isinstance(counters_from_settings(), DatabaseCounters)


def test_redis_with_database_rows_behind_it_when_redis_is_configured(settings):
    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": CLOSED_PORT}}
    settings.GATEHOUSE_COUNTERS = "redis"

    backend = counters_from_settings()  # builds a client; connects only when counting

    assert isinstance(backend, FailoverCounters)
    assert isinstance(backend.primary, RedisCounters)
    assert backend.primary.client.connection_pool.connection_kwargs["port"] == 1


@pytest.mark.parametrize(("value", "redis_url"), [("redis", ""), ("memcached", "redis://127.0.0.1:6379/7")])
def test_a_setting_that_cannot_work_stops_the_start(value, redis_url):
    env = {key: val for key, val in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(GATEHOUSE_COUNTERS=value, REDIS_URL=redis_url, DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60, check=False)

    assert result.returncode != 0
    assert 'GATEHOUSE_COUNTERS must be "database", or "redis" with REDIS_URL set.' in result.stderr


@pytest.mark.django_db
def test_sign_in_works_while_redis_is_down_and_the_limits_still_hold(client, redis_down, caplog, settings):
    user = UserFactory(email="victim@example.test")
    caplog.set_level(logging.ERROR, logger="security.counters")

    wrong = [client.post("/login", {"email": user.email, "password": "wrong"}) for _ in range(9)]
    assert [r.status_code for r in wrong] == [200] * 9
    assert all(INVALID in r.content.decode() for r in wrong)
    assert signin_failures_count(email=user.email) == 9
    locking = client.post("/login", {"email": user.email, "password": "wrong"})
    assert locking.status_code == 429
    assert LOCKED in locking.content.decode()
    refused = Client().post("/login", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert refused.status_code == 429
    assert SignInLock.objects.get().locked_until is not None
    assert AuditEvent.objects.filter(action="account.locked").count() == 1

    # Counted in database rows (the per-IP throttle's too), and said once, not once per call.
    assert ThrottleCounter.objects.exists()
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert "Redis unreachable" in record.getMessage()
    assert "counting in database rows" in record.getMessage()


@pytest.mark.django_db
def test_after_the_retry_delay_redis_is_tried_again(redis_down, caplog, monkeypatch):
    caplog.set_level(logging.ERROR, logger="security.counters")
    clock = {"now": 1000.0}
    monkeypatch.setattr(counters.time, "monotonic", lambda: clock["now"])
    start, end = datetime(2030, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, 0, 15, tzinfo=UTC)

    assert [redis_down.hit("k", start, end) for _ in range(3)] == [1, 2, 3]
    assert len(caplog.records) == 1
    clock["now"] += counters.REDIS_RETRY_SECONDS
    assert redis_down.hit("k", start, end) == 4  # tried Redis, failed again, counted on in the rows
    assert len(caplog.records) == 2
    assert ThrottleCounter.objects.get().count == 4
