"""Periodic housekeeping for sessions, signing keys and OAuth token rows."""

from celery import shared_task
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from identity.backchannel.services import backchannel_logout_enqueue
from identity.models import UserSession
from identity.signing import signing_key_prune
from identity.token_housekeeping import tokens_prune as tokens_prune_run


@shared_task
def expired_sessions_purge() -> dict[str, int]:
    """Close UserSession rows past their expiry and delete expired Django sessions. Idempotent."""
    now = timezone.now()
    expired = UserSession.objects.live().filter(expires_at__lte=now)
    with transaction.atomic():
        # The apps used in those sessions are told after commit (OIDC Back-Channel Logout).
        backchannel_logout_enqueue(sessions=expired, reason=UserSession.EndReason.EXPIRED)
        closed = expired.update(ended_at=now, end_reason=UserSession.EndReason.EXPIRED)
    deleted, _ = Session.objects.filter(expire_date__lte=now).delete()
    return {"sessions_closed": closed, "django_sessions_deleted": deleted}


@shared_task
def signing_keys_prune() -> dict[str, list[str]]:
    """Delete retired signing keys whose tokens have all expired. Idempotent."""
    return {"deleted_kids": signing_key_prune()}


@shared_task
def tokens_prune() -> dict[str, int]:
    """Delete expired and spent token rows, bounded per run (identity/token_housekeeping.py). Idempotent."""
    return tokens_prune_run().deleted
