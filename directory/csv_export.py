"""CSV output that is safe to open in a spreadsheet: the users export and an import's per-row results.

Every cell that starts with =, +, -, @, a tab or a carriage return is prefixed with an apostrophe
(OWASP "CSV injection"), so a name like `=HYPERLINK(...)` shows as text instead of running. Rows are
produced lazily so a response can stream 100,000 members without building them in memory.
"""

import csv
from collections.abc import Iterable, Iterator

from django.db.models import Prefetch, QuerySet

from directory.csv_import import FORMULA_PREFIXES
from directory.models import GroupMembership
from orgs.models import Membership

EXPORT_COLUMNS = ("email", "name", "role", "groups", "employee_id", "status", "member_since")
RESULT_COLUMNS = ("line", "email", "outcome", "detail")
CHUNK = 2000


def cell_escape(value) -> str:
    """A cell as text, neutralised if a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES) or text.lstrip().startswith(FORMULA_PREFIXES[:4]):
        return "'" + text
    return text


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """CSV text, one line at a time: a UTF-8 BOM (so spreadsheets read the encoding right), the header,
    then every row with each cell escaped."""
    # Every cell quoted, as OWASP advises, so a separator or quote in a value never shifts a column.
    writer = csv.writer(_Echo(), quoting=csv.QUOTE_ALL)
    yield "\ufeff" + writer.writerow(list(header))
    for row in rows:
        yield writer.writerow([cell_escape(value) for value in row])


def user_export_rows(*, org, memberships: QuerySet[Membership]) -> Iterator[tuple]:
    """One row per membership, with the user's groups in `org` (never another org's), read in chunks."""
    in_org = GroupMembership.objects.filter(group__org=org).select_related("group").order_by("group__slug")
    memberships = memberships.select_related("user").prefetch_related(
        Prefetch("user__group_memberships", queryset=in_org, to_attr="org_group_memberships"))
    for membership in memberships.iterator(chunk_size=CHUNK):
        user = membership.user
        yield (
            # A name is the account's: exported only for an active member (an invitation may name someone
            # else's account, issue #10).
            user.email, user.full_name if membership.status == Membership.Status.ACTIVE else "", membership.role,
            ";".join(gm.group.slug for gm in user.org_group_memberships),
            membership.employee_id, membership.status, membership.created_at.date().isoformat(),
        )


def import_result_rows(results: list[dict]) -> Iterator[tuple]:
    for result in results:
        yield (result["line"], result["email"], result["outcome"], result["detail"])
