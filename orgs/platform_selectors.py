"""Reads for the platform operator's pages that cross organizations: the user search.

Only PlatformOperatorMixin views call these: they see every org's accounts by design.
"""

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce

from directory.models import User
from orgs.models import Membership

USER_SEARCH_PAGE_SIZE = 50


@dataclass(frozen=True)
class UserSearchPage:
    users: Sequence[User]  # each with `platform_memberships`: its memberships, orgs by name
    next_after: str | None  # the cursor of the next page, None on the last one


def platform_user_search(*, query: str = "") -> QuerySet[User]:
    """Every account whose email or full name starts with `query`, in any letter case; all accounts
    without one. Ordered by email, then id (the cursor's order).

    A prefix, not a substring: PostgreSQL serves `UPPER(col) LIKE 'ABC%'` from the text_pattern_ops
    indexes of directory migration 0004, so a search stays fast at 100,000 accounts."""
    users = User.objects.all()
    key: F | Coalesce = F("email")
    if query:
        users = users.filter(Q(email__istartswith=query) | Q(full_name__istartswith=query))
        # Ordered by the bare column, PostgreSQL may walk the email index and filter every row before the
        # matches; through an expression it gathers the matches from the prefix indexes and sorts them.
        key = Coalesce(key, key)
    return users.order_by(key.asc(), "pk")


def user_search_cursor_encode(user: User) -> str:
    raw = json.dumps([user.email, user.pk], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def user_search_cursor_decode(cursor: str) -> tuple[str, int]:
    """(email, pk) from a cursor; ValueError for anything user_search_cursor_encode could not have made."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        email, pk = json.loads(raw)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise ValueError("malformed cursor") from exc
    if not isinstance(email, str) or isinstance(pk, bool) or not isinstance(pk, int) or not 0 < pk < 2**63:
        raise ValueError("malformed cursor")
    return email, pk


def user_search_page(users: QuerySet[User], *, after: tuple[str, int] | None = None,
                     size: int = USER_SEARCH_PAGE_SIZE) -> UserSearchPage:
    """One page of `users` after the cursor position, with every membership of each (one more query)."""
    if after is not None:
        email, pk = after
        # `email >= x` on its own, so PostgreSQL seeks into the email index instead of filtering every row
        # before the cursor; the OR is the tie-break on id.
        users = users.filter(Q(email__gte=email), Q(email__gt=email) | Q(pk__gt=pk))
    memberships = Membership.objects.select_related("org").order_by("org__name", "org_id")
    rows = list(users.prefetch_related(Prefetch("memberships", queryset=memberships,
                                                to_attr="platform_memberships"))[:size + 1])
    has_more = len(rows) > size
    rows = rows[:size]
    return UserSearchPage(users=rows, next_after=user_search_cursor_encode(rows[-1]) if has_more else None)
