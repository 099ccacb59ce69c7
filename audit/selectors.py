"""Reading the audit log: scoped, filtered lists, keyset pages over (created_at, id), single events."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from audit.models import AuditEvent
from orgs.models import Organization

PAGE_SIZE = 50
PLATFORM_ONLY = "-"  # the platform page's "org" filter value for events that belong to no org
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Cursor:
    """A position in the log: the (created_at, id) of the last row shown. Rows strictly older come next."""

    created_at: datetime
    pk: int

    def encode(self) -> str:
        # Whole microseconds since the epoch: exact (no float rounding) and URL-safe.
        return f"{(self.created_at - _EPOCH) // timedelta(microseconds=1)}-{self.pk}"

    @classmethod
    def decode(cls, value: str) -> "Cursor":
        """Parse `encode`'s output; raises ValueError (or OverflowError) on anything else."""
        micros, _, pk = value.partition("-")
        if not (micros.isdigit() and pk.isdigit()) or len(micros) > 18 or len(pk) > 18:
            raise ValueError("Not a cursor.")
        return cls(created_at=_EPOCH + timedelta(microseconds=int(micros)), pk=int(pk))


@dataclass
class AuditPage:
    events: list[AuditEvent]
    next_before: str | None  # the `before` cursor of the next (older) page, None on the last one


def audit_event_list(
    *,
    org: Organization,
    action: str | None = None,
    actor: str | None = None,
    target: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    ip: str | None = None,
) -> QuerySet[AuditEvent]:
    """An org's events, newest first; an org never sees another org's or the platform's events.

    Filters are described in `_filtered`.
    """
    events = AuditEvent.objects.for_org(org).select_related("actor")
    return _filtered(events, action=action, actor=actor, target=target, date_from=date_from,
                     date_to=date_to, ip=ip)


def audit_event_list_platform(
    *,
    org: Organization | str | None = None,
    action: str | None = None,
    actor: str | None = None,
    target: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    ip: str | None = None,
) -> QuerySet[AuditEvent]:
    """Every event, org-less platform events included (operators only).

    `org` narrows to one organization, or to platform events only when it is PLATFORM_ONLY.
    """
    events = AuditEvent.objects.select_related("org", "actor")
    if org == PLATFORM_ONLY:
        events = events.filter(org__isnull=True)
    elif org is not None:
        events = events.filter(org=org)
    return _filtered(events, action=action, actor=actor, target=target, date_from=date_from,
                     date_to=date_to, ip=ip)


def _filtered(events: QuerySet[AuditEvent], *, action, actor, target, date_from, date_to, ip) -> QuerySet[AuditEvent]:
    """Apply the list filters.

    - `action`: exact (`login.failed`), or every action under a prefix when it ends with a dot (`login.`);
    - `actor`: a prefix of the actor's email as recorded, any case;
    - `target`: the target's id exactly, or a prefix of its label, any case;
    - `date_from` / `date_to`: whole days in the site's time zone, both inclusive;
    - `ip`: exact.
    """
    if action:
        events = events.filter(action__startswith=action) if action.endswith(".") else events.filter(action=action)
    if actor:
        events = events.filter(actor_label__istartswith=actor)
    if target:
        events = events.filter(Q(target_id=target) | Q(target_label__istartswith=target))
    tz = timezone.get_current_timezone()
    if date_from:
        events = events.filter(created_at__gte=datetime.combine(date_from, time.min, tzinfo=tz))
    if date_to:
        events = events.filter(created_at__lt=datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz))
    if ip:
        events = events.filter(ip=ip)
    return events.order_by("-created_at", "-id")


def audit_page(events: QuerySet[AuditEvent], *, before: Cursor | None = None, size: int = PAGE_SIZE) -> AuditPage:
    """One keyset page of rows older than `before`: a bounded query however deep the page.

    `created_at <= t` is the part an index on (…, created_at) can seek to; the OR only breaks ties
    between events recorded in the same microsecond. The list never loads metadata or headers.
    """
    if before is not None:
        events = events.filter(created_at__lte=before.created_at).filter(
            Q(created_at__lt=before.created_at) | Q(pk__lt=before.pk)
        )
    rows = list(events.defer("metadata", "user_agent", "forwarded_for")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    last = rows[-1] if rows else None
    return AuditPage(
        events=rows,
        next_before=Cursor(created_at=last.created_at, pk=last.pk).encode() if more and last else None,
    )


def audit_event_get(*, org: Organization, pk) -> AuditEvent:
    """One of `org`'s events; another org's or a platform event is a 404, never a 403."""
    try:
        return AuditEvent.objects.for_org(org).select_related("actor").get(pk=pk)
    except (AuditEvent.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such event.") from None


def audit_event_get_platform(*, pk) -> AuditEvent:
    """Any event, for operators."""
    try:
        return AuditEvent.objects.select_related("org", "actor").get(pk=pk)
    except (AuditEvent.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such event.") from None
