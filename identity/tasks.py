"""Periodic housekeeping for sessions, signing keys and OAuth token rows."""

from celery import shared_task
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from identity.backchannel.services import backchannel_logout_enqueue
from identity.models import UserSession
from identity.services import NEW_DEVICE_MEMORY
from identity.signing import signing_key_prune
from identity.token_housekeeping import tokens_prune as tokens_prune_run

# Ended UserSession rows deleted per run, so a first run on a large table stays a short statement.
ENDED_SESSIONS_PRUNE_BATCH = 10_000


@shared_task
def expired_sessions_purge() -> dict[str, int]:
    """Close UserSession rows past their expiry, delete expired Django sessions, and delete UserSession rows
    ended longer ago than the new-device notice looks back (nothing reads them after that). Idempotent."""
    now = timezone.now()
    expired = UserSession.objects.live().filter(expires_at__lte=now)
    with transaction.atomic():
        # The apps used in those sessions are told after commit (OIDC Back-Channel Logout).
        backchannel_logout_enqueue(sessions=expired, reason=UserSession.EndReason.EXPIRED)
        closed = expired.update(ended_at=now, end_reason=UserSession.EndReason.EXPIRED)
    deleted, _ = Session.objects.filter(expire_date__lte=now).delete()
    long_ended = UserSession.objects.filter(ended_at__lt=now - NEW_DEVICE_MEMORY).order_by("pk")
    pruned, _ = UserSession.objects.filter(
        pk__in=list(long_ended.values_list("pk", flat=True)[:ENDED_SESSIONS_PRUNE_BATCH])).delete()
    return {"sessions_closed": closed, "django_sessions_deleted": deleted, "ended_sessions_deleted": pruned}


@shared_task
def signing_keys_prune() -> dict[str, list[str]]:
    """Delete retired signing keys whose tokens have all expired. Idempotent."""
    return {"deleted_kids": signing_key_prune()}


@shared_task
def tokens_prune() -> dict[str, int]:
    """Delete expired and spent token rows, bounded per run (identity/token_housekeeping.py). Idempotent."""
    return tokens_prune_run().deleted
