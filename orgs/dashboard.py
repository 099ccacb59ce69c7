"""Dashboard selectors: an org's and the platform's figures, aggregated in SQL with a fixed number of queries."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import CharField, Count, Q, QuerySet, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Concat, TruncDate
from django.utils import timezone

from audit.models import AuditEvent
from emailqueue.models import OutboundEmail
from orgs.models import Membership, Organization

# Someone signed in: at the hosted pages (the platform's original, or one with an org recorded on it), or
# into one of the org's apps through /authorize (DESIGN.md: "an /authorize for an org's app records a
# sign-in event in that org").
SIGN_IN_ACTIONS = ("login.succeeded", "login.authorized")
# A sign-in that did not get through: a wrong password or refused account, or a person the app
# refused (not a member, not in an allowed group). A wrong password carries the org whose app started
# the sign-in (identity/views/login.py); one typed at a plain /login has no org on its original.
FAILED_SIGN_IN_ACTIONS = ("login.failed", "login.refused")
# A member's sign-in (or failed one) wherever it started is copied into each org the account is an active
# member of (audit/fanout.py). An org counts the copies; the platform counts only the originals, which it
# already holds, so no sign-in is counted twice on either overview.
MEMBER_SIGN_IN_ACTIONS = ("login.member_succeeded",)
MEMBER_FAILED_SIGN_IN_ACTIONS = ("login.member_failed",)
ORG_SIGN_IN_ACTIONS = SIGN_IN_ACTIONS + MEMBER_SIGN_IN_ACTIONS
ORG_FAILED_SIGN_IN_ACTIONS = FAILED_SIGN_IN_ACTIONS + MEMBER_FAILED_SIGN_IN_ACTIONS
TOP_ORGS = 5


# The browser session a sign-in event belongs to (its metadata's sid, "" without one), for counting each session
# once a day. A plain text value, so that "" compares as text (JSON key lookups parse their right-hand side).
# Querysets that count with _sign_ins() annotate it as `sid`.
_SID = Coalesce(KeyTextTransform("sid", "metadata"), Value(""), output_field=CharField())
_SESSION_DAY = Concat(Cast(TruncDate("created_at"), CharField()), Value(" "), _SID)


def _sign_ins(events: Q):
    """How many sign-ins the `events` rows make (an aggregate, on a queryset annotated with sid=_SID): each
    browser session once a day, an event without a sid on its own (see sign_in_activity)."""
    return (Count(_SESSION_DAY, distinct=True, filter=events & Q(sid__gt=""))
            + Count("pk", filter=events & Q(sid="")))


@dataclass(frozen=True)
class StatusCount:
    """How many rows have one status, with the status's readable name."""

    key: str
    label: str
    count: int


@dataclass(frozen=True)
class OrgCount:
    slug: str
    name: str
    count: int


@dataclass(frozen=True)
class SignInActivity:
    """Sign-ins and failed sign-ins per day (oldest first, every day present) and active users."""

    days: list[date]
    sign_ins: list[int]
    failed_sign_ins: list[int]
    active_users: int

    @property
    def total_sign_ins(self) -> int:
        return sum(self.sign_ins)

    @property
    def total_failed_sign_ins(self) -> int:
        return sum(self.failed_sign_ins)


@dataclass(frozen=True)
class OrgDashboard:
    days: int
    members_by_status: list[StatusCount]
    activity: SignInActivity | None  # None when the reader may not see the audit log
    emails_by_state: list[StatusCount] | None  # None when the reader may not see the email queue


@dataclass(frozen=True)
class PlatformDashboard:
    days: int
    activity: SignInActivity
    members_by_status: list[StatusCount]
    emails_by_state: list[StatusCount]
    orgs_by_status: list[StatusCount]
    top_orgs: list[OrgCount]


def window_days(days: int) -> list[date]:
    """The last `days` calendar days up to today, in the deployment's time zone, oldest first."""
    if days < 1:
        raise ValueError("A dashboard covers at least one day.")
    today = timezone.localdate()
    return [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


def _window_start(first_day: date) -> datetime:
    """Midnight at the start of `first_day` in the deployment's time zone."""
    return timezone.make_aware(datetime.combine(first_day, time.min))


def _by_status(queryset: QuerySet, choices) -> list[StatusCount]:
    """One GROUP BY query; every choice is listed, with 0 for the ones no row has."""
    counts = dict(queryset.order_by().values_list("status").annotate(n=Count("*")))
    return [StatusCount(key=value, label=str(label), count=counts.get(value, 0)) for value, label in choices]


def sign_in_activity(
    *, events: QuerySet[AuditEvent], days: int,
    succeeded: tuple[str, ...] = SIGN_IN_ACTIONS, failed: tuple[str, ...] = FAILED_SIGN_IN_ACTIONS,
) -> SignInActivity:
    """Sign-ins per day, failed sign-ins per day and active users over the last `days` days.

    `succeeded` and `failed` are the actions counted (an org's overview adds its members' copies).
    A *sign-in* is a browser session signing in on a day: one password sign-in that ends at an app
    writes two events with the session's sid (the sign-in, then `login.authorized`), and a session that
    goes on to a second app writes a third; each session counts once a day. An event without a sid
    (none is written today without one; older rows may lack it) counts on its own.
    An *active user* is a distinct person who signed in (a `succeeded` event naming them as
    the actor) at least once in the window. Two queries whatever the window: one GROUP BY day for both
    series (on the `(org, action, time)` index when `events` is one org's), one COUNT(DISTINCT actor).
    Days are calendar days in the deployment's time zone.
    """
    calendar = window_days(days)
    recent = events.filter(created_at__gte=_window_start(calendar[0]))
    success = Q(action__in=succeeded)
    rows = (
        recent.filter(action__in=succeeded + failed)
        .order_by()
        .annotate(day=TruncDate("created_at"), sid=_SID)
        .values_list("day")
        .annotate(sign_ins=_sign_ins(success), failed=Count("pk", filter=~success))
    )
    sign_ins = dict.fromkeys(calendar, 0)
    failures = dict.fromkeys(calendar, 0)
    for day, sign_in_count, failed_count in rows:
        # An event stamped after "today" began elsewhere (clock skew) is not a day of this window.
        if day in sign_ins:
            sign_ins[day] = sign_in_count
            failures[day] = failed_count
    active = (
        recent.filter(action__in=succeeded, actor__isnull=False)
        .order_by()
        .aggregate(n=Count("actor", distinct=True))["n"]
    )
    return SignInActivity(days=calendar, sign_ins=list(sign_ins.values()), failed_sign_ins=list(failures.values()),
                          active_users=active)


def org_dashboard(*, org: Organization, days: int = 30, audit: bool = True, email: bool = True) -> OrgDashboard:
    """One org's overview figures; only its own rows are ever counted (every read is `.for_org(org)`).

    `audit` and `email` say whether the reader may see those sections; a section left out runs
    no query. At most four queries.
    """
    return OrgDashboard(
        days=days,
        members_by_status=_by_status(Membership.objects.for_org(org), Membership.Status.choices),
        activity=sign_in_activity(events=AuditEvent.objects.for_org(org), days=days, succeeded=ORG_SIGN_IN_ACTIONS,
                                  failed=ORG_FAILED_SIGN_IN_ACTIONS) if audit else None,
        emails_by_state=_by_status(OutboundEmail.objects.for_org(org), OutboundEmail.Status.choices) if email else None,
    )


def platform_dashboard(*, days: int = 30) -> PlatformDashboard:
    """The deployment's overview for operators, across every org and the platform-level rows too.

    Sign-ins and failures here are the originals, those that carry no org (a plain /login, a wrong
    password for an unknown address) included; members' copies in their orgs are not counted again,
    except in the busiest-orgs list, which ranks orgs by what each org's own overview counts. Six queries.
    """
    calendar = window_days(days)
    top = (
        AuditEvent.objects.filter(action__in=ORG_SIGN_IN_ACTIONS, org__isnull=False,
                                  created_at__gte=_window_start(calendar[0]))
        .order_by()
        .annotate(sid=_SID)
        .values_list("org__slug", "org__name")
        .annotate(n=_sign_ins(Q()))  # as each org's own overview counts them
        .order_by("-n", "org__name")[:TOP_ORGS]
    )
    return PlatformDashboard(
        days=days,
        activity=sign_in_activity(events=AuditEvent.objects.all(), days=days),
        members_by_status=_by_status(Membership.objects.all(), Membership.Status.choices),
        emails_by_state=_by_status(OutboundEmail.objects.all(), OutboundEmail.Status.choices),
        orgs_by_status=_by_status(Organization.objects.all(), Organization.Status.choices),
        top_orgs=[OrgCount(slug=slug, name=name, count=n) for slug, name, n in top],
    )
