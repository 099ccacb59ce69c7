"""Periodic housekeeping for applications: client secrets whose rotation overlap has ended."""

from celery import shared_task

from applications.services import previous_secrets_expired_clear


@shared_task
def previous_secrets_clear() -> None:
    """Forget client secrets whose rotation overlap has ended. Idempotent. (Expired tokens are
    identity.tasks.tokens_prune's: DOT's clear_expired() would delete live refresh tokens of an app
    with its own, longer refresh lifetime.)"""
    previous_secrets_expired_clear()
