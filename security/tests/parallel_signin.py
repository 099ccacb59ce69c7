"""Parallel sign-in attempts against a real, file-based database, from threads and from processes.

Run by test_concurrency.py in a fresh interpreter (`python -m security.tests.parallel_signin`) with
GATEHOUSE_VAR_DIR pointing at an empty folder, so it uses the embedded default exactly as deployed:
SQLite in WAL mode with IMMEDIATE transactions, and counters in its rows, or in Redis when the
environment says GATEHOUSE_COUNTERS=redis. Prints one JSON report on stdout.
"""

import json
import multiprocessing
import os
import sys
import threading
from collections import Counter

PARALLEL = 20
WRONG = "not-the-password"


def _attempt(email: str) -> int:
    from django.test import Client

    return Client().post("/login", {"email": email, "password": WRONG}).status_code


def _in_threads(email: str) -> list[int | str]:
    from django.db import connections

    barrier = threading.Barrier(PARALLEL)
    statuses: list[int | str] = []

    def run():
        barrier.wait()
        try:
            statuses.append(_attempt(email))
        except BaseException as exc:
            statuses.append(f"error: {exc!r}")
            raise
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def _process_main(barrier, results, email: str) -> None:
    from django.db import connections

    barrier.wait()
    try:
        results.put(_attempt(email))
    except BaseException as exc:
        results.put(f"error: {exc!r}")  # reported in the JSON, instead of a queue that never fills
        raise
    finally:
        connections.close_all()


def _in_processes(email: str) -> list[int | str]:
    from django.db import connections

    connections.close_all()  # a forked child must open its own connection
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(PARALLEL), ctx.Queue()
    processes = [ctx.Process(target=_process_main, args=(barrier, results, email)) for _ in range(PARALLEL)]
    for process in processes:
        process.start()
    statuses = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join()
    return statuses


def _throttle_in_threads() -> list[bool]:
    from django.db import connections

    from security.throttle import throttle_hit

    barrier = threading.Barrier(PARALLEL)
    allowed: list[bool] = []

    def run():
        barrier.wait()
        try:
            allowed.append(throttle_hit(key="parallel", limit=10, window_seconds=3600).allowed)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return allowed


def _report(email: str, statuses: list[int | str]) -> dict:
    from audit.models import AuditEvent
    from emailqueue.models import OutboundEmail
    from security.models import SignInLock
    from security.services import signin_key

    lock = SignInLock.objects.get(key=signin_key(email))
    failed = AuditEvent.objects.filter(action="login.failed", metadata__email=email)
    return {
        "statuses": dict(Counter(str(status) for status in statuses)),
        "level": lock.level,
        "locked": lock.locked_until is not None,
        "failed_invalid": failed.filter(metadata__reason="invalid").count(),
        "failed_locked": failed.filter(metadata__reason="locked").count(),
        "account_locked_events": AuditEvent.objects.filter(action="account.locked", metadata__email=email).count(),
        "emails": OutboundEmail.objects.filter(recipient=email).count(),
    }


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # As in conftest.py: pages render {% static %} without a collectstatic manifest.
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

    from directory.models import User

    call_command("migrate", verbosity=0)
    for name in ("threads", "processes"):
        User.objects.create_user(f"{name}@example.test", "the-right-password-123")
    report = {
        "engine": __import__("django.db").db.connection.vendor,
        "threads": _report("threads@example.test", _in_threads("threads@example.test")),
        "processes": _report("processes@example.test", _in_processes("processes@example.test")),
        "throttle_allowed": sum(_throttle_in_threads()),
    }
    from security import counters
    from security.throttle import throttle_count

    report["throttle_count"] = throttle_count(key="parallel", window_seconds=3600)
    report["counters"] = type(counters.BACKEND).__name__
    # With Redis: whether any call fell back to database rows (then Redis was not what counted).
    report["redis_failed"] = getattr(counters.BACKEND, "down_until", 0.0) != 0.0
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
