"""Reading users and groups."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.dateparse import parse_datetime

from config.compiled_queries import CompiledQuery
from directory.models import Group, User
from orgs.models import Membership

# Read at every sign-in: its SQL is built once (config/compiled_queries.py). As .first(): User's ordering.
_USER_BY_EMAIL = CompiledQuery(lambda email: User.objects.filter(email__iexact=email)[:1], "stand-in@gatehouse.invalid")


def user_get_by_email(*, email: str) -> User | None:
    """The user with this email in any letter case, or None."""
    return _USER_BY_EMAIL.first(email.strip())


def group_list(*, org) -> QuerySet[Group]:
    return Group.objects.for_org(org).order_by("name")


def group_get(*, org, pk) -> Group:
    """A group of `org`; another org's group is a 404."""
    try:
        return Group.objects.for_org(org).get(pk=pk)
    except (Group.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such group.") from None


# --- the console's users list ---------------------------------------------------------------------

USER_PAGE_SIZE = 50

# sort name → (Membership field, newest/largest first?). Every sort ends on the membership's pk, so
# a keyset cursor (value, pk) names one exact place in the order.
USER_SORTS: dict[str, tuple[str, bool]] = {
    "email": ("user__email", False),
    "name": ("user__full_name", False),
    "created": ("created_at", True),
}


@dataclass
class UserPage:
    memberships: list[Membership]
    next_after: str | None  # the cursor of the next page, None on the last one


def user_list(
    *, org, query: str | None = None, status: str | None = None, role: str | None = None,
    group: Group | None = None, sort: str = "email",
) -> QuerySet[Membership]:
    """`org`'s members (its memberships, with their users), never anyone else's.

    `query` matches a prefix of the email in any letter case, or of the full name of an active member
    (a name is the account's, not the org's: for an invitation it may come from elsewhere, issue #10).
    `group` must be one of `org`'s groups (the caller's form offers only those); a foreign group
    matches nobody.
    """
    field, descending = USER_SORTS[sort]
    memberships = Membership.objects.for_org(org).select_related("user")
    if query:
        memberships = memberships.filter(
            Q(user__email__istartswith=query)
            | Q(user__full_name__istartswith=query, status=Membership.Status.ACTIVE))
    if status:
        memberships = memberships.filter(status=status)
    if role:
        memberships = memberships.filter(role=role)
    if group is not None:
        memberships = memberships.filter(user__group_memberships__group__org=org,
                                         user__group_memberships__group=group)
    key = F(field)
    if query:
        # The same order, but through an expression no index provides. Ordered by the bare column,
        # PostgreSQL may walk the sort's index and filter, which reads most of the org when the matches
        # cluster in that order (emails starting with "mar" all sort together, behind every "a" to "l");
        # with no index for the order it gathers the matches through the prefix indexes and sorts them.
        key = Coalesce(key, key)
    if descending:
        return memberships.order_by(key.desc(), "-pk")
    return memberships.order_by(key.asc(), "pk")


def _sort_value(membership: Membership, sort: str):
    field, _ = USER_SORTS[sort]
    value = membership
    for part in field.split("__"):
        value = getattr(value, part)
    return value.isoformat() if isinstance(value, datetime) else value


def user_cursor_encode(membership: Membership, sort: str) -> str:
    raw = json.dumps([_sort_value(membership, sort), membership.pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def user_cursor_decode(cursor: str, sort: str) -> tuple:
    """(sort value, pk) from a cursor; ValueError for anything this sort could not have produced."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ValueError("malformed cursor") from exc
    if not isinstance(value, str) or isinstance(pk, bool) or not isinstance(pk, int) or not 0 < pk < 2**63:
        raise ValueError("malformed cursor")
    if USER_SORTS[sort][0] == "created_at":
        value = parse_datetime(value)
        if value is None or value.tzinfo is None:
            raise ValueError("malformed cursor")
    return value, pk


def user_page(memberships: QuerySet[Membership], *, sort: str, after: tuple | None = None,
              size: int = USER_PAGE_SIZE) -> UserPage:
    """One keyset page after the cursor `after`: one bounded query, however deep the page.

    `field >= value` (or `<=`) is the part an index on the sort column can seek to; the OR only
    breaks ties on the pk. Written as one OR of both, PostgreSQL would walk the index from its start.
    """
    if after is not None:
        field, descending = USER_SORTS[sort]
        value, pk = after
        op = "lt" if descending else "gt"
        memberships = memberships.filter(**{f"{field}__{op}e": value}).filter(
            Q(**{f"{field}__{op}": value}) | Q(**{f"pk__{op}": pk}))
    rows = list(memberships[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return UserPage(memberships=rows, next_after=user_cursor_encode(rows[-1], sort) if more else None)


def org_member_get(*, org, user_pk) -> Membership:
    """`org`'s membership of the user `user_pk`, with the user; anyone who is not its member is a 404."""
    try:
        return Membership.objects.for_org(org).select_related("user", "org").get(user_id=user_pk)
    except (Membership.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such user.") from None


def user_belongs_to_org_alone(*, org, user: User) -> bool:
    """Whether `org` may act on `user`'s identity (profile, password, lock): they belong to no other org
    and are not a platform operator (DESIGN.md). The services enforce it; pages use it to say so."""
    if user.is_superuser:
        return False
    return not Membership.objects.filter(user=user).exclude(org=org).exists()


def user_groups_in_org(*, org, user: User) -> QuerySet[Group]:
    """The groups of `org` that `user` is in; other orgs' groups never appear."""
    return Group.objects.for_org(org).filter(memberships__user=user).order_by("name")


def user_mail_org(user: User):
    """The org whose branding (and email queue) a message to `user` belongs to: their only org, if one.

    A user in several orgs (or none, like an operator) gets platform mail, so one org's admins never
    read mail about the user's life in another org.
    """
    org_ids = list(Membership.objects.filter(user=user).values_list("org_id", flat=True)[:2])
    if len(org_ids) != 1:
        return None
    return Membership.objects.select_related("org").filter(user=user).first().org
