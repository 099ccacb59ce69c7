"""Liveness and readiness probes for load balancers and orchestrators."""

import os

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

PROBE_TIMEOUT_SECONDS = 2


@never_cache
@require_GET
def live(request):
    """The process answers: nothing else is checked, so a slow database never restarts web workers."""
    return JsonResponse({"status": "ok"})


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return f"database: {exc.__class__.__name__}"
    return None


def _check_redis() -> str | None:
    if not settings.REDIS_URL:
        return None
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=PROBE_TIMEOUT_SECONDS,
            socket_timeout=PROBE_TIMEOUT_SECONDS,
        )
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as exc:
        return f"redis: {exc.__class__.__name__}"
    return None


def _check_broker() -> str | None:
    url = settings.CELERY_BROKER_URL
    if url == "filesystem://":
        # The first task sent creates the folder, so a fresh install is ready if it *can* be made.
        folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError:
            return "broker: filesystem queue folder cannot be created"
        if not os.access(folder, os.W_OK):
            return "broker: filesystem queue folder is not writable"
        return None
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=PROBE_TIMEOUT_SECONDS) as broker:
            # One retry, at once: kombu's default first wait (2 s) would hold a probe past its own timeout.
            broker.ensure_connection(max_retries=1, interval_start=0, timeout=PROBE_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 — kombu raises transport-specific errors; report any as down.
        return f"broker: {exc.__class__.__name__}"
    return None


@never_cache
@require_GET
def ready(request):
    """Can this process serve traffic? 503 names each dependency that failed."""
    failing = [problem for check in (_check_database, _check_redis, _check_broker) if (problem := check())]
    if failing:
        return JsonResponse({"status": "unavailable", "failing": failing}, status=503)
    return JsonResponse({"status": "ok"})
