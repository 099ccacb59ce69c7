"""Delivery tasks: each loads rows by id and calls a service; safe to run twice."""

from celery import shared_task

from emailqueue import services


@shared_task(name="emailqueue.tasks.deliver_email")
def deliver_email(email_id: int) -> str | None:
    """Send one outbox row if it is still waiting. Idempotent: the claim lets only one task send it."""
    return services.email_deliver(email_id=email_id)


@shared_task(name="emailqueue.tasks.outbox_sweep")
def outbox_sweep() -> dict[str, int]:
    """Every minute (beat): retry due rows, take back rows stuck in `sending`."""
    return services.outbox_sweep()
