"""Periodic housekeeping for sessions."""

from celery import shared_task
from django.contrib.sessions.models import Session
from django.utils import timezone

from identity.models import UserSession


@shared_task
def expired_sessions_purge() -> dict[str, int]:
    """Close UserSession rows past their expiry and delete expired Django sessions. Idempotent."""
    now = timezone.now()
    closed = UserSession.objects.live().filter(expires_at__lte=now).update(
        ended_at=now, end_reason=UserSession.EndReason.EXPIRED
    )
    deleted, _ = Session.objects.filter(expire_date__lte=now).delete()
    return {"sessions_closed": closed, "django_sessions_deleted": deleted}
