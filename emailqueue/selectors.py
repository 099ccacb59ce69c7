"""Reading the outbox: scoped lists with counts and keyset pages, single messages, due rows."""

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from emailqueue.models import OutboundEmail
from orgs.models import Organization

PAGE_SIZE = 50
PLATFORM_ONLY = "-"  # the platform page's "org" filter value for mail that belongs to no org


@dataclass
class EmailPage:
    emails: list[OutboundEmail]
    next_before: int | None  # the `before` value of the next (older) page, None on the last one


def email_list(
    *, org: Organization, status: str | None = None, recipient: str | None = None
) -> QuerySet[OutboundEmail]:
    """An org's outbox, newest first; `recipient` matches a prefix of the address, case-insensitively."""
    return _filtered(OutboundEmail.objects.for_org(org), status=status, recipient=recipient)


def email_list_platform(
    *, org_slug: str | None = None, status: str | None = None, recipient: str | None = None
) -> QuerySet[OutboundEmail]:
    """Every org's outbox and the platform's own mail (operators only); narrowed to one org on request."""
    emails = OutboundEmail.objects.select_related("org")
    if org_slug == PLATFORM_ONLY:
        emails = emails.platform()
    elif org_slug:
        emails = emails.filter(org__slug=org_slug)
    return _filtered(emails, status=status, recipient=recipient)


def _filtered(emails: QuerySet[OutboundEmail], *, status, recipient) -> QuerySet[OutboundEmail]:
    if status:
        emails = emails.filter(status=status)
    if recipient:
        emails = emails.filter(recipient__istartswith=recipient)
    # Deferred: a page of 50 never loads 50 message bodies.
    return emails.defer("body_text", "body_html").order_by("-id")


def email_page(emails: QuerySet[OutboundEmail], *, before: int | None = None, size: int = PAGE_SIZE) -> EmailPage:
    """One keyset page (ids below `before`): a bounded query however long the outbox grows."""
    if before:
        emails = emails.filter(pk__lt=before)
    rows = list(emails[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return EmailPage(emails=rows, next_before=rows[-1].pk if more else None)


def email_status_counts(emails: QuerySet[OutboundEmail]) -> dict[str, int]:
    """How many messages are in each state (every state listed, zeros included), in one query."""
    counts = {status: 0 for status in OutboundEmail.Status.values}
    for row in emails.order_by().values("status").annotate(n=Count("pk")):
        counts[row["status"]] = row["n"]
    return counts


def email_get(*, org: Organization, pk) -> OutboundEmail:
    """One of `org`'s messages; another org's (or the platform's) is a 404, never a 403."""
    try:
        return OutboundEmail.objects.for_org(org).get(pk=pk)
    except (OutboundEmail.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such message.") from None


def email_get_platform(*, pk) -> OutboundEmail:
    """Any message, for operators."""
    try:
        return OutboundEmail.objects.select_related("org").get(pk=pk)
    except (OutboundEmail.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such message.") from None


def email_due_ids(*, limit: int = 1000) -> list[int]:
    """Messages a worker would send now: pending ones and failed ones whose retry is due, oldest first."""
    due = OutboundEmail.objects.filter(
        Q(status=OutboundEmail.Status.PENDING)
        | Q(status=OutboundEmail.Status.FAILED, next_attempt_at__lte=timezone.now())
    )
    return list(due.order_by("next_attempt_at", "id").values_list("pk", flat=True)[:limit])
