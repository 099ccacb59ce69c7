"""Periodic housekeeping for OAuth tokens."""

from celery import shared_task
from oauth2_provider.models import clear_expired

from applications.services import previous_secrets_expired_clear


@shared_task
def expired_tokens_clear() -> None:
    """Delete expired access, refresh and ID tokens and grants, in DOT's batches, and client secrets
    whose rotation overlap has ended. Idempotent."""
    clear_expired()
    previous_secrets_expired_clear()
