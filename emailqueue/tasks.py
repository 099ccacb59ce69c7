"""Delivery tasks: each loads rows by id and calls a service; safe to run twice."""

from collections import Counter

from celery import shared_task

from emailqueue import services


@shared_task(name=services.DELIVER_EMAIL)
def deliver_email(email_id: int) -> str | None:
    """Send one outbox row if it is still waiting. Idempotent: the claim lets only one task send it."""
    return services.email_deliver(email_id=email_id)


@shared_task(name=services.DELIVER_EMAILS)
def deliver_emails(email_ids: list[int]) -> dict[str, int]:
    """Send outbox rows one after another, each claimed on its own as by deliver_email (a chunk of a bulk
    enqueue). Returns how many ended in each status; a row this run did not claim counts as "skipped"."""
    outcomes = Counter(str(services.email_deliver(email_id=email_id) or "skipped") for email_id in email_ids)
    return dict(outcomes)


@shared_task(name="emailqueue.tasks.outbox_sweep")
def outbox_sweep() -> dict[str, int]:
    """Every minute (beat): retry due rows, take back rows stuck in `sending`."""
    return services.outbox_sweep()
