"""Parallel sign-in attempts are counted exactly: no more passwords are tested than the limit allows.

Twenty wrong passwords for one email arrive at once with the threshold at ten. Exactly ten pass the
gate and have their password checked: the first of them to fail once all ten are counted locks the
address and answers 429, the other nine answer "incorrect", and the ten that found the gate full
answer 429 — one lockout, one audit row, one email.

On the embedded default this runs in a fresh interpreter against a file SQLite database (the
in-memory test database cannot take parallel writers), with the counters in its rows and, with the
`services` marker, in Redis; also with `services`, it runs inside pytest on PostgreSQL in .ci/run,
with the counters in PostgreSQL rows and in Redis.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection, connections
from django.test import Client

from audit.models import AuditEvent
from config.tests.migrated_template import migrated_var_dir
from directory.tests.factories import UserFactory
from emailqueue.models import OutboundEmail
from security.keys import counter_key
from security.models import SignInLock
from security.services import signin_failures_count, signin_key
from security.tests.counter_support import redis_backend, stored
from security.throttle import throttle_hit

ROOT = Path(__file__).resolve().parents[2]
PARALLEL = 20
EXPECTED = {
    "statuses": {"200": 9, "429": 11},
    "level": 1,
    "locked": True,
    "failed_invalid": 9,
    "failed_locked": 11,
    "account_locked_events": 1,
    "emails": 1,
}


def _run_in_a_fresh_interpreter(tmp_path, **extra_env: str) -> dict:
    env = {
        key: value for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "GATEHOUSE_ENCRYPTION_KEYS",
                       "GATEHOUSE_COUNTERS"}
    }
    # A copy of the migrated template: the child's own migrate then has nothing to do.
    shutil.copytree(migrated_var_dir(), tmp_path, dirs_exist_ok=True)
    env.update(GATEHOUSE_VAR_DIR=str(tmp_path), CELERY_TASK_ALWAYS_EAGER="true",
               DJANGO_SETTINGS_MODULE="config.settings", **extra_env)
    result = subprocess.run([sys.executable, "-m", "security.tests.parallel_signin"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["engine"] == "sqlite"
    assert report["threads"] == EXPECTED
    assert report["processes"] == EXPECTED
    assert report["throttle_allowed"] == 10
    assert report["throttle_count"] == PARALLEL
    return report


def test_parallel_attempts_on_the_embedded_sqlite_database_from_threads_and_processes(tmp_path):
    report = _run_in_a_fresh_interpreter(tmp_path)

    assert report["counters"] == "DatabaseCounters"


@pytest.mark.services
def test_parallel_attempts_with_counters_in_redis_from_threads_and_processes(tmp_path, settings):
    redis = redis_backend()
    redis.clear()
    try:
        report = _run_in_a_fresh_interpreter(tmp_path, REDIS_URL=settings.REDIS_URL, GATEHOUSE_COUNTERS="redis")

        assert (report["counters"], report["redis_failed"]) == ("FailoverCounters", False)
        # What Redis holds (keys hashed with the child's own SECRET_KEY): the 20 "parallel" hits, the 40
        # wrong passwords from 127.0.0.1, and each email's attempts in the generation its lockout left
        # behind: the 10 it was decided on plus those refused by the count before the lock was set.
        counts = sorted(count for count in stored(redis).values() if count)
        assert len(counts) == 4
        assert counts[-1] == 2 * PARALLEL
        assert PARALLEL in counts
        assert all(10 <= count <= PARALLEL for count in counts[:-1])
    finally:
        redis.clear()


# ---------------------------------------------------------------- in pytest, on PostgreSQL


def _in_threads(fn) -> list:
    barrier = threading.Barrier(PARALLEL)
    results: list = []

    def run():
        barrier.wait()
        try:
            results.append(fn())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def shared_database(transactional_db):
    if connection.vendor == "sqlite":
        pytest.fail("a services test: run it with DATABASE_URL pointing at PostgreSQL (see .ci/run); the in-memory "
                    "SQLite test database cannot take parallel writers (the subprocess test above covers SQLite)")


@pytest.mark.services
def test_parallel_wrong_passwords_on_postgresql_are_counted_exactly(shared_database, counter_backend):
    user = UserFactory(email="victim@example.test")

    statuses = _in_threads(lambda: Client().post("/login", {"email": user.email, "password": "wrong"}).status_code)

    assert Counter(statuses) == {200: 9, 429: 11}
    assert SignInLock.objects.get(key=signin_key(user.email)).level == 1
    assert signin_failures_count(email=user.email) == 0  # consumed by the lockout
    assert AuditEvent.objects.filter(action="login.failed", metadata__reason="invalid").count() == 9
    assert AuditEvent.objects.filter(action="account.locked").count() == 1
    assert OutboundEmail.objects.filter(recipient=user.email).count() == 1


@pytest.mark.services
def test_parallel_throttle_hits_on_postgresql_are_counted_exactly(shared_database, counter_backend):
    decisions = _in_threads(lambda: throttle_hit(key="parallel", limit=10, window_seconds=3600))

    assert sum(d.allowed for d in decisions) == 10
    assert sorted(d.count for d in decisions) == list(range(1, PARALLEL + 1))
    window = int(decisions[0].window_end.timestamp()) - 3600
    assert stored(counter_backend) == {f"{counter_key('parallel')}:{window}": PARALLEL}
