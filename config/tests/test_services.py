"""Against real services: readiness with Redis and a Redis broker, and a real Celery worker process.

These run in .ci/run, which sets DATABASE_URL, REDIS_URL and CELERY_BROKER_URL. A missing variable
fails the test rather than skipping it: a skipped services test would read as a pass.
"""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection
from django.utils import timezone

from config.celery import app
from directory.tests.factories import UserFactory
from identity.models import UserSession
from identity.tasks import expired_sessions_purge

pytestmark = pytest.mark.services

BASE_DIR = Path(__file__).resolve().parents[2]
WORKER_WAIT_SECONDS = 60


def require_env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        pytest.fail(
            f"{name} is not set: services tests need PostgreSQL, Redis and a Redis broker "
            "(run them through `bash .ci/run`, or deselect them with -m 'not services')",
            pytrace=False,
        )
    return value


@pytest.mark.django_db
def test_ready_against_real_redis_and_broker(client, settings):
    require_env("DATABASE_URL")
    settings.REDIS_URL = require_env("REDIS_URL")
    settings.CELERY_BROKER_URL = require_env("CELERY_BROKER_URL")
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    response = client.get("/health/ready")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok"}


def test_database_is_postgresql(db):
    require_env("DATABASE_URL")
    assert connection.vendor == "postgresql"


def test_cache_is_redis(settings):
    require_env("REDIS_URL")
    from django.core.cache import cache

    key = f"gatehouse-test-{uuid.uuid4()}"
    cache.set(key, 1, timeout=30)
    assert cache.incr(key) == 2
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"
    cache.delete(key)


def worker_database_url(database_url: str, test_database_name: str) -> str:
    """The worker must use pytest-django's test database (test_<name>), not the configured one."""
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path=f"/{test_database_name}"))


@pytest.fixture
def celery_worker_process(tmp_path):
    """A real `celery worker` on a queue of its own, using the test database; stopped at the end."""
    database_url = require_env("DATABASE_URL")
    broker_url = require_env("CELERY_BROKER_URL")
    queue = f"gatehouse-test-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(database_url, connection.settings_dict["NAME"]),
        "CELERY_BROKER_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", queue,
                "-n", f"{queue}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--loglevel=INFO",
            ],
            cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        yield queue, process, log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_worker_closes_expired_sessions(celery_worker_process):
    queue, process, log_path = celery_worker_process
    user = UserFactory(email="sessions@acme.test")
    now = timezone.now()
    expired = UserSession.objects.create(
        user=user, device="Old laptop", auth_time=now - timedelta(days=2), created_at=now - timedelta(days=2),
        last_seen_at=now - timedelta(days=1), expires_at=now - timedelta(hours=1),
    )
    live = UserSession.objects.create(user=user, device="Phone", expires_at=now + timedelta(hours=1))

    # conftest makes tasks eager for the rest of the suite; this one must go through the broker.
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        expired_sessions_purge.apply_async(queue=queue)
    finally:
        app.conf.task_always_eager = eager

    deadline = time.monotonic() + WORKER_WAIT_SECONDS
    while time.monotonic() < deadline:
        expired.refresh_from_db()
        if expired.ended_at is not None:
            break
        assert process.poll() is None, f"the worker exited early:\n{log_path.read_text()}"
        time.sleep(0.5)
    else:
        pytest.fail(f"the worker did not close the session in {WORKER_WAIT_SECONDS}s:\n{log_path.read_text()}")

    assert expired.end_reason == UserSession.EndReason.EXPIRED
    assert now <= expired.ended_at <= timezone.now()
    live.refresh_from_db()
    assert live.ended_at is None
    assert live.end_reason == ""
    assert "identity.tasks.expired_sessions_purge" in log_path.read_text()
