"""Parsing and validating a CSV of users for import: file-level refusals first, then one verdict per row.

Nothing here writes. `csv_parse` turns the uploaded bytes into raw rows or raises `CsvFileError` with a
message for the person who uploaded the file; `rows_validate` compares each row with the org as it is
now and says create / update / unchanged / error, with the reasons.
"""

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from config.exceptions import DomainError
from directory.member_services import employee_id_clean
from directory.models import Group, GroupMembership, User
from directory.services import normalize_email
from orgs.models import Membership

# 10,000 rows of the template's columns are under 1 MB; these limits leave room and bound the work.
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
KNOWN_COLUMNS = ("email", "name", "role", "groups", "employee_id")
# Columns the export writes that an import reads past, so an export can be edited and imported back.
IGNORED_COLUMNS = ("status", "member_since")
GROUP_SEPARATOR = ";"
# OWASP "CSV injection": a spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
MAX_ERRORS_PER_FILE = 1000  # past this the file is clearly wrong; the count stays exact

ROLE_ALIASES = {label.lower(): value for value, label in Membership.Role.choices}


class CsvFileError(Exception):
    """The file as a whole is refused (encoding, header, size, not a CSV); nothing was read into the org."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class ParsedFile:
    columns: list[str]
    rows: list[tuple[int, list[str]]]  # (line number in the file, raw cells)


@dataclass
class RowVerdict:
    line: int
    email: str
    name: str | None = None  # None: the column is absent or the cell empty, so the value is kept
    role: str | None = None
    groups: list[str] = field(default_factory=list)  # group slugs
    employee_id: str | None = None
    action: str = "create"  # create | update | unchanged | error
    changes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)  # {"column": ..., "message": ...}

    def as_json(self) -> dict:
        return {"line": self.line, "email": self.email, "name": self.name, "role": self.role,
                "groups": self.groups, "employee_id": self.employee_id, "action": self.action,
                "changes": self.changes, "notes": self.notes, "errors": self.errors}


def is_formula(cell: str) -> bool:
    return cell.startswith(FORMULA_PREFIXES) or cell.strip().startswith(FORMULA_PREFIXES[:4])


def csv_parse(data: bytes) -> ParsedFile:
    """The header and raw rows of an uploaded file, or CsvFileError saying what is wrong with it.

    UTF-8 only (a byte-order mark is fine), comma-separated, a header row naming the columns in any
    order and letter case. Blank lines are skipped.
    """
    if len(data) > MAX_FILE_BYTES:
        raise CsvFileError(_("The file is larger than %(mb)d MB. Split it into smaller files.")
                           % {"mb": MAX_FILE_BYTES // (1024 * 1024)})
    if not data.strip():
        raise CsvFileError(_("The file is empty. It needs a header row and at least one user."))
    if b"\x00" in data:
        raise CsvFileError(_("This is not a CSV file (it contains binary data). Save the sheet as “CSV UTF-8”."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFileError(_("The file is not UTF-8 (unreadable bytes near position %(pos)d). Save it as "
                             "“CSV UTF-8” and upload it again.") % {"pos": exc.start}) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        while header is not None and not any(cell.strip() for cell in header):
            header = next(reader, None)
        if header is None:
            raise CsvFileError(_("The file is empty. It needs a header row and at least one user."))
        columns = _header_check(header)
        rows: list[tuple[int, list[str]]] = []
        start = reader.line_num + 1
        for cells in reader:
            # A quoted cell may span lines: a row is named by the line it starts on.
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) >= MAX_ROWS:
                raise CsvFileError(_("The file has more than %(max)s users. Split it into smaller files.")
                                   % {"max": f"{MAX_ROWS:,}"})
            rows.append((line, cells))
    except csv.Error as exc:
        raise CsvFileError(_("The file is not a valid CSV near line %(line)d: %(error)s.")
                           % {"line": reader.line_num, "error": exc}) from None
    if not rows:
        raise CsvFileError(_("The file has a header row but no users."))
    return ParsedFile(columns=columns, rows=rows)


def _header_check(header: list[str]) -> list[str]:
    columns = [cell.strip().lower().replace(" ", "_") for cell in header]
    if "email" not in columns:
        if len(columns) == 1 and ";" in header[0]:
            raise CsvFileError(_("The columns are separated by semicolons; separate them with commas (save the "
                                 "sheet as “CSV UTF-8”)."))
        raise CsvFileError(_("The first row must be a header naming the columns, with at least “email”. "
                             "Known columns: %(known)s.") % {"known": ", ".join(KNOWN_COLUMNS)})
    unknown = [name or _("(empty)") for name in columns if name not in KNOWN_COLUMNS + IGNORED_COLUMNS]
    if unknown:
        raise CsvFileError(_("Unknown columns: %(unknown)s. Known columns: %(known)s.")
                           % {"unknown": ", ".join(unknown), "known": ", ".join(KNOWN_COLUMNS)})
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise CsvFileError(_("These columns appear more than once: %(names)s.") % {"names": ", ".join(repeated)})
    return columns


@dataclass
class OrgState:
    """What the org holds for the emails in a file, read in a few bulk queries."""

    users: dict[str, User]  # lower-case email → user
    memberships: dict[int, Membership]  # user id → membership in this org
    elsewhere: set[int]  # user ids that also belong to another org
    groups: dict[str, Group]  # lower-case slug and lower-case name → group
    user_groups: dict[int, set[int]]  # user id → ids of this org's groups they are in
    active_owner_ids: set[int]  # membership ids of active owners with active accounts
    employee_ids: dict[str, int]  # employee id → user id, in this org (unique within it)


def _chunks(items: list, size: int = 1000) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def org_state_load(*, org, emails: Iterable[str], employee_ids: Iterable[str] = ()) -> OrgState:
    """The bulk reads a preview (and each applied batch) needs, never per row; only what the file names."""
    lowered = sorted({email.lower() for email in emails if email})
    users: dict[str, User] = {}
    for chunk in _chunks(lowered):
        for user in User.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=chunk):
            users[user.email_lower] = user
    user_ids = [user.pk for user in users.values()]
    memberships: dict[int, Membership] = {}
    elsewhere: set[int] = set()
    user_groups: dict[int, set[int]] = {}
    for chunk in _chunks(user_ids):
        for membership in Membership.objects.filter(user_id__in=chunk):
            if membership.org_id == org.pk:
                memberships[membership.user_id] = membership
            else:
                elsewhere.add(membership.user_id)
        for user_id, group_id in GroupMembership.objects.filter(
                user_id__in=chunk, group__org=org).values_list("user_id", "group_id"):
            user_groups.setdefault(user_id, set()).add(group_id)
    groups: dict[str, Group] = {}
    for group in Group.objects.for_org(org):
        groups.setdefault(group.name.lower(), group)
        groups[group.slug.lower()] = group  # a slug wins over another group's identical name
    owners = set(Membership.objects.for_org(org).filter(
        role=Membership.Role.OWNER, status=Membership.Status.ACTIVE, user__status=User.Status.ACTIVE,
    ).values_list("pk", flat=True))
    taken: dict[str, int] = {}
    for chunk in _chunks(sorted({value for value in employee_ids if value})):
        holders = Membership.objects.for_org(org).filter(employee_id__in=chunk)
        taken.update(holders.values_list("employee_id", "user_id"))
    return OrgState(users=users, memberships=memberships, elsewhere=elsewhere, groups=groups,
                    user_groups=user_groups, active_owner_ids=owners, employee_ids=taken)


def _cell_values(columns: list[str], cells: list[str], verdict: RowVerdict) -> dict[str, str]:
    if len(cells) != len(columns):
        verdict.errors.append({"column": "", "message": _("This row has %(cells)d cells; the header has %(columns)d.")
                               % {"cells": len(cells), "columns": len(columns)}})
        return {}
    values = {}
    for name, cell in zip(columns, cells, strict=True):
        if name in IGNORED_COLUMNS:
            continue
        if is_formula(cell):
            verdict.errors.append({"column": name, "message": _(
                "Line %(line)d, column “%(column)s” starts with “%(char)s”, which a spreadsheet runs as a "
                "formula. Remove that character.") % {"line": verdict.line, "column": name,
                                                      "char": cell.strip()[:1] or repr(cell[:1])}})
            continue
        values[name] = cell.strip()
    return values


def rows_validate(*, org, parsed: ParsedFile, may_manage_owners: bool) -> list[RowVerdict]:
    """One verdict per row, against the org as it is now.

    Rules: a valid email, once per file (later repeats are errors); a known role, and the owner role —
    granting it, or changing an owner's row — only for importers who may manage owners; groups must
    exist in this org (no group is created by an import); the org's last active owner keeps the role.
    A name changes only for an active member who belongs to this org alone (DESIGN.md); otherwise it is
    noted and left as is. A row for someone not yet a member reads the same whether the address has no
    account, an account in another org or a platform operator's (issue #10): this org learns nothing
    about accounts it has no member in.
    """
    verdicts: list[RowVerdict] = []
    seen: dict[str, int] = {}  # lower-case email, and "#" + employee id → first line
    index = parsed.columns.index("email")
    emails = [normalize_email(cells[index]) if index < len(cells) else "" for _line, cells in parsed.rows]
    employee_ids = []
    if "employee_id" in parsed.columns:
        position = parsed.columns.index("employee_id")
        employee_ids = [cells[position].strip() for _line, cells in parsed.rows if position < len(cells)]
    state = org_state_load(org=org, emails=emails, employee_ids=employee_ids)
    demoted_owners: list[tuple[RowVerdict, int]] = []
    for line, cells in parsed.rows:
        verdict = RowVerdict(line=line, email="")
        values = _cell_values(parsed.columns, cells, verdict)
        if values:
            _row_check(verdict, values, state=state, seen=seen, may_manage_owners=may_manage_owners,
                       demoted_owners=demoted_owners)
        if verdict.errors:
            verdict.action = "error"
        verdicts.append(verdict)
    remaining = state.active_owner_ids - {membership_id for _v, membership_id in demoted_owners}
    if demoted_owners and not remaining:
        for verdict, _membership_id in demoted_owners:
            verdict.errors.append({"column": "role", "message": _(
                "%(email)s would no longer be an owner, and the organization needs at least one active owner. "
                "Keep one owner in the file.") % {"email": verdict.email}})
            verdict.action = "error"
    return verdicts


def _row_check(verdict: RowVerdict, values: dict[str, str], *, state: OrgState, seen: dict[str, int],
               may_manage_owners: bool, demoted_owners: list) -> None:
    email = normalize_email(values.get("email", ""))
    verdict.email = email
    error = verdict.errors.append
    try:
        validate_email(email)
    except ValidationError:
        error({"column": "email", "message": _("“%(email)s” is not a valid email address.") % {"email": email}
               if email else _("The email is missing.")})
        return
    first = seen.setdefault(email.lower(), verdict.line)
    if first != verdict.line:
        error({"column": "email", "message": _("%(email)s already appears on line %(line)d.")
               % {"email": email, "line": first}})
        return
    name = values.get("name") or None
    if name is not None and len(name) > User._meta.get_field("full_name").max_length:
        error({"column": "name", "message": _("A name has at most 200 characters.")})
    verdict.name = name
    role = (values.get("role") or "").lower() or None
    if role is not None:
        role = ROLE_ALIASES.get(role, role)
        if role not in Membership.Role.values:
            error({"column": "role", "message": _("Unknown role “%(role)s”; use one of %(roles)s.")
                   % {"role": values["role"], "roles": ", ".join(Membership.Role.values)}})
        elif role == Membership.Role.OWNER and not may_manage_owners:
            error({"column": "role", "message": _("Only an owner can make someone an owner.")})
    verdict.role = role
    employee_id = values.get("employee_id") or None
    if employee_id is not None:
        try:
            employee_id = employee_id_clean(employee_id)
        except DomainError as exc:
            error({"column": "employee_id", "message": exc.message})
        first = seen.setdefault("#" + employee_id, verdict.line)
        if first != verdict.line:
            error({"column": "employee_id", "message": _("The employee id “%(id)s” already appears on line %(line)d.")
                   % {"id": employee_id, "line": first}})
    verdict.employee_id = employee_id
    for raw in (values.get("groups") or "").split(GROUP_SEPARATOR):
        if not raw.strip():
            continue
        group = state.groups.get(raw.strip().lower())
        if group is None:
            error({"column": "groups", "message": _("There is no group “%(group)s” in this organization; create "
                                                    "it first.") % {"group": raw.strip()}})
        elif group.slug not in verdict.groups:
            verdict.groups.append(group.slug)
    if verdict.errors:
        return
    user = state.users.get(email.lower())
    membership = state.memberships.get(user.pk) if user else None
    holder = state.employee_ids.get(employee_id or "")
    if holder is not None and (user is None or holder != user.pk):
        error({"column": "employee_id", "message": _("Another member already has the employee id “%(id)s”.")
               % {"id": employee_id}})
        return
    if membership is None:
        verdict.action = "create"
        return
    changes = verdict.changes
    if name is not None and membership.status != Membership.Status.ACTIVE:
        # Not compared either: whether it differs would say what the account is called elsewhere.
        verdict.notes.append(_("Name not changed: the membership is not active."))
    elif name is not None and name != user.full_name:
        if user.pk in state.elsewhere:
            verdict.notes.append(_("Name not changed: this account also belongs to another organization."))
        else:
            changes.append("name")
    if role is not None and role != membership.role:
        changes.append("role")
        if membership.role == Membership.Role.OWNER and membership.pk in state.active_owner_ids:
            demoted_owners.append((verdict, membership.pk))
    if employee_id is not None and employee_id != membership.employee_id:
        changes.append("employee_id")
    group_ids = {state.groups[slug].pk for slug in verdict.groups}
    if group_ids - state.user_groups.get(user.pk, set()):
        changes.append("groups")
    if changes and membership.role == Membership.Role.OWNER and not may_manage_owners:
        error({"column": "role" if "role" in changes else "", "message": _(
            "%(email)s is an owner; only an owner can change an owner's membership.") % {"email": email}})
        return
    verdict.action = "update" if changes else "unchanged"
