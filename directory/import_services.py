"""Writes for CSV imports of users: upload (a stored preview), confirm, cancel, and the background apply.

Every change to a member goes through the same services as the console's manual actions (member_invite,
membership_role_change, user_profile_update, group_member_add), so the same rules hold (last owner,
profile edits only for users who belong to this org alone) and the same audit rows and emails are
written, with the importer as the actor. New members go in bulk (_bulk_create) where that writes the same
rows as those services would.
"""

import logging
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditEvent
from audit.services import audit_record
from config.celery import registered_task
from config.exceptions import DomainError, NotAllowed
from directory.csv_import import CsvFileError, OrgState, csv_parse, org_state_load, rows_validate
from directory.member_services import membership_employee_id_update
from directory.models import Group, GroupMembership, User, UserImport
from directory.services import group_member_add, user_create, user_profile_update
from emailqueue.services import email_enqueue_many
from identity.models import OneTimeToken
from orgs.models import Membership
from orgs.permissions import permissions_for
from orgs.services import invitation_build, member_invite, membership_create, membership_role_change

logger = logging.getLogger(__name__)
Status = UserImport.Status
# Rows applied per transaction: progress advances (and a crash resumes) batch by batch.
BATCH_SIZE = 500
# The task that applies a confirmed import (directory/tasks.py), handed to the broker by name.
APPLY_USER_IMPORT = "directory.apply_user_import"
ACTIONS = ("create", "update", "unchanged", "error")


def _counts(rows: list[dict]) -> dict[str, int]:
    counts = dict.fromkeys(ACTIONS, 0)
    for row in rows:
        counts[row["action"]] += 1
    return counts


@transaction.atomic
def user_import_create(*, org, actor, filename: str, data: bytes, send_invitations: bool,
                       request=None) -> UserImport:
    """Check an uploaded file and store its preview. Changes no member.

    A file refused as a whole (encoding, header, size, not a CSV) raises DomainError(field="file") and
    stores nothing. A file with row errors is stored so the preview can show them; it cannot be confirmed.
    """
    try:
        parsed = csv_parse(data)
    except CsvFileError as exc:
        raise DomainError(exc.message, field="file") from None
    may_manage_owners = "owners.manage" in permissions_for(user=actor, org=org)
    verdicts = rows_validate(org=org, parsed=parsed, may_manage_owners=may_manage_owners)
    rows = [verdict.as_json() for verdict in verdicts]
    row_errors = [{"line": row["line"], "email": row["email"], **error} for row in rows for error in row["errors"]]
    user_import = UserImport.objects.create(
        org=org, created_by=actor, filename=filename[:255], send_invitations=send_invitations, rows=rows,
        row_errors=row_errors, total_rows=len(rows),
    )
    audit_record(action="user_import.uploaded", actor=actor, org=org, target=user_import, request=request,
                 metadata={"filename": user_import.filename, "rows": len(rows), "counts": _counts(rows),
                           "send_invitations": send_invitations})
    return user_import


def _lock(user_import: UserImport) -> UserImport:
    return UserImport.objects.select_for_update().select_related("org").get(pk=user_import.pk)


@transaction.atomic
def user_import_confirm(*, user_import: UserImport, actor, request=None) -> UserImport:
    """Queue a previewed import for the background job. Refused while any row has an error (the file is
    fixed and uploaded again), for anyone but the uploader (the preview's role checks were theirs), and
    for an import already confirmed or cancelled."""
    user_import = _lock(user_import)
    if user_import.status != Status.PREVIEW:
        raise NotAllowed(_("This import is %(status)s; it can no longer be confirmed.")
                         % {"status": user_import.get_status_display().lower()})
    if user_import.row_errors:
        raise NotAllowed(_("Nothing was imported: %(count)d rows have errors. Fix the file and upload it again.")
                         % {"count": len({error["line"] for error in user_import.row_errors})})
    if getattr(actor, "pk", None) != user_import.created_by_id:
        raise NotAllowed(_("Only the person who uploaded this file can confirm it. Upload it yourself instead."))
    user_import.status = Status.QUEUED
    user_import.save(update_fields=["status"])
    audit_record(action="user_import.confirmed", actor=actor, org=user_import.org, target=user_import,
                 request=request, metadata={"filename": user_import.filename, "rows": user_import.total_rows,
                                            "counts": _counts(user_import.rows),
                                            "send_invitations": user_import.send_invitations})
    transaction.on_commit(partial(registered_task(APPLY_USER_IMPORT).delay, user_import.pk))
    return user_import


@transaction.atomic
def user_import_cancel(*, user_import: UserImport, actor, request=None) -> UserImport:
    """Discard an import waiting for confirmation; nothing of it was applied."""
    user_import = _lock(user_import)
    if user_import.status != Status.PREVIEW:
        raise NotAllowed(_("This import is %(status)s; only an import waiting for confirmation can be cancelled.")
                         % {"status": user_import.get_status_display().lower()})
    user_import.status = Status.CANCELLED
    user_import.finished_at = timezone.now()
    user_import.save(update_fields=["status", "finished_at"])
    audit_record(action="user_import.cancelled", actor=actor, org=user_import.org, target=user_import,
                 request=request, metadata={"filename": user_import.filename})
    return user_import


# --- the background job ---------------------------------------------------------------------------


def user_import_apply(*, import_id: int) -> UserImport | None:
    """Apply a confirmed import, batch by batch. Safe to run twice, or twice at once.

    The first run claims the import with a conditional UPDATE (queued → running). Each batch locks the
    import row and starts at its `processed_rows`, which commits with the batch's changes: a second run
    (a redelivered task after a worker died) continues where the first stopped and never applies a row
    twice. Rules are checked again per row against the org as it is now, with the uploader's current
    permissions; a row refused now is recorded as failed, and the others still apply.
    """
    UserImport.objects.filter(pk=import_id, status=Status.QUEUED).update(status=Status.RUNNING,
                                                                         started_at=timezone.now())
    user_import = UserImport.objects.select_related("org", "created_by").filter(pk=import_id).first()
    if user_import is None or user_import.status != Status.RUNNING:
        return user_import
    actor = user_import.created_by
    granted = permissions_for(user=actor, org=user_import.org) if actor is not None else frozenset()
    if "members.manage" not in granted:
        return _finish(user_import, status=Status.FAILED, error=_(
            "The person who uploaded this import may no longer manage members, so nothing more was applied."))
    job = _Job(user_import=user_import, actor=actor, may_manage_owners="owners.manage" in granted)
    while not _batch_apply(job):
        pass
    return _finish(user_import, status=Status.DONE)


class _Job:
    """One run's view of an import: the rows (read once) and the results so far (kept in memory, so a batch
    does not reload and re-decode the whole file)."""

    def __init__(self, *, user_import: UserImport, actor: User, may_manage_owners: bool):
        self.pk = user_import.pk
        self.org = user_import.org
        self.rows = user_import.rows
        self.results = user_import.results
        self.offset = user_import.processed_rows
        self.send_invitations = user_import.send_invitations
        self.actor = actor
        self.may_manage_owners = may_manage_owners


@transaction.atomic
def _finish(user_import: UserImport, *, status: str, error: str = "") -> UserImport:
    updated = UserImport.objects.filter(pk=user_import.pk, status=Status.RUNNING).update(
        status=status, error=error, finished_at=timezone.now())
    user_import = UserImport.objects.select_related("org", "created_by").get(pk=user_import.pk)
    if updated:
        audit_record(action="user_import.completed" if status == Status.DONE else "user_import.failed",
                     actor=user_import.created_by, org=user_import.org, target=user_import,
                     metadata={"filename": user_import.filename, "rows": user_import.total_rows,
                               "created": user_import.created_count, "updated": user_import.updated_count,
                               "failed": user_import.failed_count, "error": error})
    return user_import


@transaction.atomic
def _batch_apply(job: _Job) -> bool:
    """Apply the next batch; True when nothing is left."""
    locked = (UserImport.objects.select_for_update()
              .only("status", "processed_rows", "created_count", "updated_count", "failed_count").get(pk=job.pk))
    if locked.status != Status.RUNNING:
        return True
    if locked.processed_rows != job.offset:
        # Another run moved on meanwhile: continue from what it committed.
        job.offset = locked.processed_rows
        job.results = UserImport.objects.values_list("results", flat=True).get(pk=job.pk)
    batch = job.rows[job.offset:job.offset + BATCH_SIZE]
    if not batch:
        return True
    state = org_state_load(org=job.org, emails=[row["email"] for row in batch],
                           employee_ids=[row["employee_id"] for row in batch if row["employee_id"]])
    by_slug = {group.slug: group for group in Group.objects.for_org(job.org)}
    outcomes = _bulk_create(batch, job=job, state=state, by_slug=by_slug)
    for row in batch:
        outcome = outcomes.get(row["line"])
        if outcome is None:
            try:
                outcome = _row_apply(row, org=job.org, state=state, by_slug=by_slug, actor=job.actor,
                                     send_invitations=job.send_invitations, may_manage_owners=job.may_manage_owners)
            except DomainError as exc:
                outcome = ("failed", exc.message)
        name = {"created": "created_count", "updated": "updated_count", "failed": "failed_count"}.get(outcome[0])
        if name:
            setattr(locked, name, getattr(locked, name) + 1)
        job.results.append({"line": row["line"], "email": row["email"], "outcome": outcome[0],
                            "detail": outcome[1]})
    job.offset += len(batch)
    locked.processed_rows = job.offset
    locked.results = job.results
    locked.save(update_fields=["processed_rows", "created_count", "updated_count", "failed_count", "results"])
    return job.offset >= len(job.rows)


def _audit_row(*, action: str, actor: User, org, target, metadata: dict) -> AuditEvent:
    """The row audit_record would write (no request: the job runs in a worker), for a bulk insert."""
    return AuditEvent(org=org, actor=actor, actor_label=actor.email, action=action, metadata=metadata,
                      target_type=target._meta.label_lower, target_id=str(target.pk), target_label=str(target)[:254])


def _bulk_create(batch: list[dict], *, job: _Job, state: OrgState, by_slug: dict[str, Group]
                 ) -> dict[int, tuple[str, str]]:
    """New members of a batch in a few INSERTs instead of a dozen statements each (thirty with an invitation).

    Without invitations it writes what user_create, membership_create and group_member_add write — the same
    rows and the same audit rows (one per change, same actions and metadata; the employee id is part of
    membership.created), but no email at all. With invitations it writes what the per-row path writes
    (member_invite, then membership_employee_id_update): the same rows and audit rows, an invitation link
    per membership and its email (both from invitation_build, naming the groups).
    It takes only rows the per-row path would accept without asking anything more of the database: no
    membership yet, groups still there, the owner role only for owners. Anything else is
    left to the per-row path. If an INSERT conflicts (someone added the same person meanwhile), the batch's
    bulk part rolls back and every row takes the per-row path.
    """
    ready = []
    for row in batch:
        user = state.users.get(row["email"].lower())
        if user is not None and user.pk in state.memberships:
            continue
        if row["role"] == Membership.Role.OWNER and not job.may_manage_owners:
            continue
        if any(slug not in by_slug for slug in row["groups"]):
            continue
        if row["employee_id"] and row["employee_id"] in state.employee_ids:
            continue  # taken since the preview: the per-row path says so
        ready.append((row, user))
    if not ready:
        return {}
    org, actor, invite = job.org, job.actor, job.send_invitations
    tokens: list[OneTimeToken] = []
    try:
        with transaction.atomic():
            new_users = []
            for row, user in ready:
                if user is None:
                    user = User(email=row["email"], full_name=(row["name"] or "").strip())
                    user.set_password(None)
                    new_users.append(user)
            User.objects.bulk_create(new_users)
            users = {user.email.lower(): user for user in new_users}
            memberships = [
                Membership(org=org, user=users.get(row["email"].lower(), user),
                           role=row["role"] or Membership.Role.MEMBER, status=Membership.Status.INVITED,
                           employee_id=row["employee_id"] or "")
                for row, user in ready
            ]
            Membership.objects.bulk_create(memberships)
            links = [GroupMembership(group=by_slug[slug], user=membership.user)
                     for (row, _user), membership in zip(ready, memberships, strict=True) for slug in row["groups"]]
            GroupMembership.objects.bulk_create(links)
            if invite:
                tokens = _invitations_send(ready, memberships, by_slug=by_slug, actor=actor)
    except (IntegrityError, DomainError) as exc:
        logger.info("Import %s: the bulk part of a batch was refused (%s); applying it row by row.", job.pk, exc)
        return {}
    events = [_audit_row(action="user.created", actor=actor, org=None, target=user,
                         metadata={"email": user.email, "operator": False}) for user in new_users]
    outcomes = {}
    for index, ((row, _user), membership) in enumerate(zip(ready, memberships, strict=True)):
        email = membership.user.email
        metadata = {"user": email, "role": membership.role, "status": membership.status}
        if membership.employee_id and not invite:
            metadata["employee_id"] = membership.employee_id
        events.append(_audit_row(action="membership.created", actor=actor, org=org, target=membership,
                                 metadata=metadata))
        for slug in row["groups"]:
            # Without invitations, no "added to a group" notice, unlike group_member_add: the importer chose to
            # email nobody, and the person has not joined yet (their invitation, sent later, is the first message).
            events.append(_audit_row(action="group.member_added", actor=actor, org=org, target=by_slug[slug],
                                     metadata={"user": email}))
        if invite:
            events.append(_audit_row(action="invitation.sent", actor=actor, org=org, target=membership, metadata={
                "user": email, "role": membership.role, "groups": list(row["groups"]),
                "expires_at": tokens[index].expires_at.isoformat()}))
            if membership.employee_id:
                events.append(_audit_row(action="membership.updated", actor=actor, org=org, target=membership,
                                         metadata={"user": email, "before": {"employee_id": ""},
                                                   "after": {"employee_id": membership.employee_id}}))
            detail = _("Invitation sent.")
        else:
            detail = _("Invited; no email sent (send the invitation from the user's page).")
        # The same words whether the account existed: the importer must not learn that (issue #10).
        outcomes[row["line"]] = ("created", detail)
    AuditEvent.objects.bulk_create(events, batch_size=1000)
    return outcomes


def _invitations_send(ready: list[tuple[dict, User | None]], memberships: list[Membership], *,
                      by_slug: dict[str, Group], actor: User) -> list[OneTimeToken]:
    """The links and emails member_invite writes for these new memberships, in two INSERTs: one invitation
    each, naming the row's groups. No link to void: the memberships are new."""
    now = timezone.now()
    tokens, drafts = [], []
    for (row, _user), membership in zip(ready, memberships, strict=True):
        group_names = sorted(by_slug[slug].name for slug in row["groups"])
        token, draft = invitation_build(membership=membership, actor=actor, now=now, group_names=group_names)
        tokens.append(token)
        drafts.append(draft)
    OneTimeToken.objects.bulk_create(tokens, batch_size=1000)
    email_enqueue_many(drafts=drafts)
    return tokens


def _row_apply(row: dict, *, org, state: OrgState, by_slug: dict[str, Group], actor: User,
               send_invitations: bool, may_manage_owners: bool) -> tuple[str, str]:
    """Apply one row through the domain services; DomainError for a row refused now."""
    groups = []
    for slug in row["groups"]:
        if slug not in by_slug:
            raise DomainError(_("The group “%(group)s” no longer exists.") % {"group": slug}, field="groups")
        groups.append(by_slug[slug])
    user = state.users.get(row["email"].lower())
    membership = state.memberships.get(user.pk) if user else None
    if membership is None:
        with transaction.atomic():  # a row refused half-way leaves nothing behind
            return _row_create(row, org=org, user=user, groups=groups, actor=actor,
                               send_invitations=send_invitations, may_manage_owners=may_manage_owners)
    changed = []
    owner_row = membership.role == Membership.Role.OWNER or row["role"] == Membership.Role.OWNER
    if (row["name"] is not None and membership.status == Membership.Status.ACTIVE and row["name"] != user.full_name
            and user.pk not in state.elsewhere):
        changed.append("name")
    if row["role"] is not None and row["role"] != membership.role:
        changed.append("role")
    if row["employee_id"] is not None and row["employee_id"] != membership.employee_id:
        changed.append("employee_id")
    new_groups = [group for group in groups if group.pk not in state.user_groups.get(user.pk, set())]
    if new_groups:
        changed.append("groups")
    if not changed:
        return "unchanged", ""
    if owner_row and not may_manage_owners:
        raise NotAllowed(_("Only an owner can change an owner's membership."))
    # Only rows that change something pay for a savepoint: a refusal half-way leaves nothing behind.
    with transaction.atomic():
        if "name" in changed:
            user_profile_update(org=org, user=user, full_name=row["name"], actor=actor)
        if "role" in changed:
            membership_role_change(membership=membership, role=row["role"], actor=actor)
        if "employee_id" in changed:
            membership_employee_id_update(membership=membership, employee_id=row["employee_id"], actor=actor)
        for group in new_groups:
            group_member_add(group=group, user=user, actor=actor)
    return "updated", _("Changed: %(fields)s.") % {"fields": ", ".join(changed)}


def _row_create(row: dict, *, org, user: User | None, groups: list[Group], actor: User, send_invitations: bool,
                may_manage_owners: bool) -> tuple[str, str]:
    role = row["role"] or Membership.Role.MEMBER
    if role == Membership.Role.OWNER and not may_manage_owners:
        raise NotAllowed(_("Only an owner can make someone an owner."))
    if send_invitations:
        # An existing account gets only an invited membership; its name is never changed (DESIGN.md).
        membership = member_invite(org=org, email=row["email"], role=role, actor=actor, groups=groups,
                                   full_name=row["name"] or "")
        detail = _("Invitation sent.")
    else:
        if user is None:
            user = user_create(email=row["email"], password=None, full_name=row["name"] or "", actor=actor)
        membership = membership_create(org=org, user=user, role=role, actor=actor, status=Membership.Status.INVITED)
        for group in groups:
            group_member_add(group=group, user=user, actor=actor)
        detail = _("Invited; no email sent (send the invitation from the user's page).")
    if row["employee_id"]:
        membership_employee_id_update(membership=membership, employee_id=row["employee_id"], actor=actor)
    return "created", detail
