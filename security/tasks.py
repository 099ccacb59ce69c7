"""Periodic housekeeping for throttle counters and sign-in lock rows."""

from celery import shared_task

from security.services import signin_locks_prune
from security.throttle import throttle_counters_prune


@shared_task
def security_counters_prune() -> dict[str, int]:
    """Delete throttle windows that have ended (database rows only: Redis keys expire by themselves)
    and lock rows that no longer matter. Idempotent, and harmless on either backend."""
    return {"throttle_counters_deleted": throttle_counters_prune(),
            "signin_locks_deleted": signin_locks_prune()}
