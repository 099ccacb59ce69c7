"""Back-channel logout tasks: each loads rows by id and calls the delivery; safe to run twice."""

import logging
from collections import Counter
from collections.abc import Iterable

from celery import shared_task
from kombu.exceptions import OperationalError as BrokerError

from config.outbox import outbox_undispatched
from identity.backchannel.delivery import backchannel_logout_deliver, backchannel_logout_due
from identity.backchannel.models import BackchannelLogout

logger = logging.getLogger(__name__)

DISPATCH_CHUNK = 100


@shared_task(name="identity.backchannel.deliver")
def deliver_backchannel_logout(delivery_id: int) -> str | None:
    """POST one logout token if its row is still waiting. Idempotent: the claim lets only one task send it."""
    return backchannel_logout_deliver(delivery_id=delivery_id)


@shared_task(name="identity.backchannel.deliver_many")
def deliver_backchannel_logouts(delivery_ids: list[int]) -> dict[str, int]:
    """Deliver rows one after another, each under its own claim; counts per outcome ("skipped": not claimed)."""
    return dict(Counter(str(backchannel_logout_deliver(delivery_id=pk) or "skipped") for pk in delivery_ids))


def backchannel_logout_dispatch(delivery_ids: Iterable[int]) -> int:
    """Hand rows to the broker, one task per row or per chunk; returns how many were handed over.

    A broker that is down loses nothing: the rows stay waiting and the sweeper hands them over later.
    """
    ids = list(delivery_ids)
    for start in range(0, len(ids), DISPATCH_CHUNK):
        chunk = ids[start:start + DISPATCH_CHUNK]
        try:
            if len(chunk) == 1:
                deliver_backchannel_logout.delay(chunk[0])
            else:
                deliver_backchannel_logouts.delay(chunk)
        except BrokerError as exc:
            logger.warning("Broker unavailable, %d back-channel logout(s) left for the sweeper: %s",
                           len(ids) - start, exc)
            outbox_undispatched(BackchannelLogout, ids[start:])
            return start
    return len(ids)


@shared_task(name="identity.backchannel.sweep")
def backchannel_logout_sweep() -> dict[str, int]:
    """Every minute (beat): the one retrier — rows stuck in `sending`, failed rows now due, lost tasks."""
    due = backchannel_logout_due()
    ids = due.pop("ids")
    return {**due, "due": len(ids), "dispatched": backchannel_logout_dispatch(ids)}
