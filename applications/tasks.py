"""Periodic housekeeping for OAuth tokens."""

from celery import shared_task
from oauth2_provider.models import clear_expired


@shared_task
def expired_tokens_clear() -> None:
    """Delete expired access, refresh and ID tokens and grants, in DOT's batches. Idempotent."""
    clear_expired()
