"""Reading webhooks: an org's endpoints, one endpoint, its deliveries (keyset pages, counts), one delivery."""

from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.http import Http404

from orgs.models import Organization
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

PAGE_SIZE = 50


@dataclass
class DeliveryPage:
    deliveries: list[WebhookDelivery]
    next_before: int | None  # the `before` value of the next (older) page; None on the last one


def webhook_endpoint_list(*, org: Organization) -> QuerySet[WebhookEndpoint]:
    """The org's endpoints, newest first."""
    return WebhookEndpoint.objects.for_org(org).select_related("created_by").order_by("-created_at", "-id")


def webhook_endpoint_get(*, org: Organization, pk) -> WebhookEndpoint:
    """One of `org`'s endpoints; another org's is a 404, never a 403."""
    try:
        return WebhookEndpoint.objects.for_org(org).get(pk=pk)
    except (WebhookEndpoint.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such webhook endpoint.") from None


def webhook_delivery_list(*, org: Organization, endpoint: WebhookEndpoint,
                          status: str | None = None) -> QuerySet[WebhookDelivery]:
    """An endpoint's deliveries, newest first; scoped to `org`, so another org's endpoint lists nothing."""
    deliveries = WebhookDelivery.objects.for_org(org).filter(endpoint=endpoint).defer("payload")
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries.order_by("-id")


def webhook_delivery_page(deliveries: QuerySet[WebhookDelivery], *, before: int | None = None,
                          size: int = PAGE_SIZE) -> DeliveryPage:
    """One keyset page (ids below `before`): a bounded query however many deliveries there are."""
    if before:
        deliveries = deliveries.filter(pk__lt=before)
    rows = list(deliveries[: size + 1])
    return DeliveryPage(deliveries=rows[:size], next_before=rows[size - 1].pk if len(rows) > size else None)


def webhook_delivery_counts(*, org: Organization, endpoint: WebhookEndpoint) -> dict[str, int]:
    """How many of the endpoint's deliveries are in each state (every state, zeros included), in one query."""
    counts = dict.fromkeys(WebhookDelivery.Status.values, 0)
    rows = WebhookDelivery.objects.for_org(org).filter(endpoint=endpoint).order_by().values("status")
    for row in rows.annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    return counts


def webhook_delivery_get(*, org: Organization, endpoint: WebhookEndpoint, pk) -> WebhookDelivery:
    """One delivery of `endpoint` in `org`; anything else is a 404."""
    try:
        return WebhookDelivery.objects.for_org(org).select_related("endpoint").get(endpoint=endpoint, pk=pk)
    except (WebhookDelivery.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such delivery.") from None


def webhook_attempt_list(*, delivery: WebhookDelivery) -> QuerySet[WebhookAttempt]:
    return WebhookAttempt.objects.filter(delivery=delivery).order_by("-attempted_at", "-id")
