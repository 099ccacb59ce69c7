"""Reading back-channel logout deliveries: one app's, newest first, with counts per state."""

from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.http import Http404

from identity.backchannel.models import BackchannelLogout

PAGE_SIZE = 50


@dataclass
class DeliveryPage:
    deliveries: list[BackchannelLogout]
    next_before: int | None  # the `before` value of the next (older) page; None on the last one


def backchannel_logout_list(*, org, application, status: str | None = None) -> QuerySet[BackchannelLogout]:
    """An app's deliveries, newest first; scoped to `org`, so another org's app lists nothing."""
    deliveries = BackchannelLogout.objects.for_org(org).filter(application=application).select_related("user")
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries.order_by("-id")


def backchannel_logout_page(deliveries: QuerySet[BackchannelLogout], *, before: int | None = None,
                            size: int = PAGE_SIZE) -> DeliveryPage:
    """One keyset page (ids below `before`): a bounded query however many deliveries there are."""
    if before:
        deliveries = deliveries.filter(pk__lt=before)
    rows = list(deliveries[: size + 1])
    return DeliveryPage(deliveries=rows[:size], next_before=rows[size - 1].pk if len(rows) > size else None)


def backchannel_logout_counts(*, org, application) -> dict[str, int]:
    """How many of the app's deliveries are in each state (every state, zeros included), in one query."""
    counts = dict.fromkeys(BackchannelLogout.Status.values, 0)
    rows = BackchannelLogout.objects.for_org(org).filter(application=application).order_by().values("status")
    for row in rows.annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    return counts


def backchannel_logout_get(*, org, application, pk) -> BackchannelLogout:
    """One delivery of `application` in `org`; anything else is a 404, never a 403."""
    try:
        return BackchannelLogout.objects.for_org(org).select_related("application").get(
            application=application, pk=pk)
    except (BackchannelLogout.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such delivery.") from None
