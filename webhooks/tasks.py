"""Webhook tasks: each loads rows by id and calls the delivery; safe to run twice."""

import logging
from collections import Counter
from collections.abc import Iterable

from celery import shared_task
from django.conf import settings
from kombu.exceptions import OperationalError as BrokerError

from config.outbox import outbox_undispatched
from webhooks.delivery import webhook_deliver, webhook_due
from webhooks.models import WebhookDelivery

logger = logging.getLogger(__name__)

DISPATCH_CHUNK = 100


@shared_task(name="webhooks.tasks.deliver")
def deliver_webhook(delivery_id: int) -> str | None:
    """POST one delivery if its row is still waiting. Idempotent: the claim lets only one task send it."""
    return webhook_deliver(delivery_id=delivery_id)


@shared_task(name="webhooks.tasks.deliver_many")
def deliver_webhooks(delivery_ids: list[int]) -> dict[str, int]:
    """Deliver rows one after another, each under its own claim; counts per outcome ("skipped": not claimed)."""
    return dict(Counter(str(webhook_deliver(delivery_id=pk) or "skipped") for pk in delivery_ids))


def webhook_dispatch(delivery_ids: Iterable[int]) -> int:
    """Hand rows to the broker, one task per row or per chunk of rows; returns how many were handed over.

    A broker that is down loses nothing: the rows stay waiting and the sweeper hands them over later.
    GATEHOUSE_WEBHOOKS_QUEUE sends the tasks to a queue of their own.
    """
    ids = list(delivery_ids)
    queue = settings.GATEHOUSE_WEBHOOKS_QUEUE
    for start in range(0, len(ids), DISPATCH_CHUNK):
        chunk = ids[start:start + DISPATCH_CHUNK]
        task, args = (deliver_webhook, (chunk[0],)) if len(chunk) == 1 else (deliver_webhooks, (chunk,))
        try:
            if queue:
                task.apply_async(args, queue=queue)
            else:
                task.delay(*args)
        except BrokerError as exc:
            logger.warning("Broker unavailable, %d webhook deliveries left for the sweeper: %s", len(ids) - start,
                           exc)
            outbox_undispatched(WebhookDelivery, ids[start:])
            return start
    return len(ids)


@shared_task(name="webhooks.tasks.webhook_sweep")
def webhook_sweep() -> dict[str, int]:
    """Every minute (beat): the one retrier — rows stuck in `sending`, failed rows now due, lost tasks."""
    due = webhook_due()
    ids = due.pop("ids")
    return {**due, "due": len(ids), "dispatched": webhook_dispatch(ids)}
