"""One-way user sync for an application: who is assigned to it, and the feed of changes it reads.

Assigned to an application: members of its org whose membership is active or suspended (a suspension is
a change the app must see, sent as `status: "suspended"`, not a removal), and — when the app is limited
to groups — who are in one of those groups. Invitations not yet accepted are not users of the app yet;
platform operators belong to no org and are never sent.

The feed (api/models.py) is brought up to date by `sync_reconcile`: it computes what the app should see
now, compares each user's `sync_hash` (SHA-256 of exactly the mapped fields) with the one last sent, and
moves only the users that changed to new sequence numbers; users no longer assigned become tombstones.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet, Subquery
from django.utils import timezone

from api.models import AppSyncEntry, AppSyncState
from applications.models import Application, AppRole
from directory.models import GroupMembership, User
from orgs.models import Membership

BATCH = 2000
ASSIGNED_STATUSES = (Membership.Status.ACTIVE, Membership.Status.SUSPENDED)


def assigned_memberships(application: Application) -> QuerySet[Membership]:
    """The memberships of `application`'s org whose users are assigned to it (see the module docstring)."""
    memberships = (Membership.objects.for_org(application.org_id)
                   .filter(status__in=ASSIGNED_STATUSES, user__is_superuser=False))
    allowed = list(application.allowed_groups.values_list("pk", flat=True))
    if allowed:
        memberships = memberships.filter(user_id__in=Subquery(
            GroupMembership.objects.filter(group_id__in=allowed).values("user_id")))
    return memberships


def sync_hash(data: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _status(membership_status: str, user_status: str) -> str:
    if user_status != User.Status.ACTIVE:
        return "disabled"
    return membership_status


def _groups_and_roles(application: Application, user_ids: list[int] | None) -> tuple[dict, dict]:
    """user id → sorted group slugs in the org; user id → sorted app role keys (through those groups)."""
    rows = GroupMembership.objects.filter(group__org_id=application.org_id)
    if user_ids is not None:
        rows = rows.filter(user_id__in=user_ids)
    role_rows = AppRole.groups.through.objects.filter(approle__application=application)
    roles_of_group: dict[int, list[str]] = {}
    for group_id, key in role_rows.values_list("group_id", "approle__key"):
        roles_of_group.setdefault(group_id, []).append(key)
    groups: dict[int, set[str]] = {}
    roles: dict[int, set[str]] = {}
    for user_id, group_id, slug in rows.values_list("user_id", "group_id", "group__slug").iterator(chunk_size=BATCH):
        groups.setdefault(user_id, set()).add(slug)
        roles.setdefault(user_id, set()).update(roles_of_group.get(group_id, ()))
    return groups, roles


def assigned_users(application: Application, *, email: str | None = None) -> dict[str, dict[str, Any]]:
    """sub → the mapped fields of every user assigned to `application` (or only the one with `email`)."""
    memberships = assigned_memberships(application)
    if email is not None:
        memberships = memberships.filter(user__email__iexact=email)
    rows = list(memberships.values_list("user_id", "user__public_id", "user__email", "user__full_name",
                                        "employee_id", "status", "user__status").iterator(chunk_size=BATCH))
    groups, roles = _groups_and_roles(application, [row[0] for row in rows] if email is not None else None)
    users = {}
    for user_id, public_id, user_email, name, employee_id, status, user_status in rows:
        sub = str(public_id)
        users[sub] = {"sub": sub, "email": user_email, "name": name, "employee_id": employee_id,
                      "status": _status(status, user_status), "groups": sorted(groups.get(user_id, ())),
                      "roles": sorted(roles.get(user_id, ()))}
    return users


@dataclass(frozen=True)
class ReconcileResult:
    created: int
    changed: int
    removed: int
    last_seq: int


@transaction.atomic
def sync_reconcile(*, application: Application, force: bool = False) -> ReconcileResult | None:
    """Bring `application`'s feed up to date. At most once per GATEHOUSE_API_SYNC_MIN_INTERVAL_SECONDS per
    application (None when skipped), so clients polling the head cannot make every poll recompute the
    whole assignment. Concurrent calls queue on the application's state row."""
    AppSyncState.objects.get_or_create(application=application)
    state = AppSyncState.objects.select_for_update().get(application=application)
    now = timezone.now()
    interval = timedelta(seconds=settings.GATEHOUSE_API_SYNC_MIN_INTERVAL_SECONDS)
    if not force and state.reconciled_at is not None and now - state.reconciled_at < interval:
        return None
    current = assigned_users(application)
    seen = {str(sub): (pk, digest, assigned) for pk, sub, digest, assigned in
            AppSyncEntry.objects.filter(application=application)
            .values_list("pk", "sub", "sync_hash", "assigned").iterator(chunk_size=BATCH)}
    seq = state.last_seq
    created: list[AppSyncEntry] = []
    changed: list[AppSyncEntry] = []
    for sub in sorted(current):
        data = current[sub]
        digest = sync_hash(data)
        known = seen.get(sub)
        if known is None:
            seq += 1
            created.append(AppSyncEntry(application=application, sub=sub, seq=seq, assigned=True, sync_hash=digest,
                                        data=data, changed_at=now))
        elif known[1] != digest or not known[2]:
            seq += 1
            changed.append(AppSyncEntry(pk=known[0], seq=seq, assigned=True, sync_hash=digest, data=data,
                                        changed_at=now))
    removed = 0
    for sub in sorted(set(seen) - set(current)):
        pk, _digest, assigned = seen[sub]
        if assigned:
            seq += 1
            removed += 1
            changed.append(AppSyncEntry(pk=pk, seq=seq, assigned=False, sync_hash="", data={}, changed_at=now))
    AppSyncEntry.objects.bulk_create(created, batch_size=BATCH)
    AppSyncEntry.objects.bulk_update(changed, ["seq", "assigned", "sync_hash", "data", "changed_at"],
                                     batch_size=BATCH)
    state.last_seq = seq
    state.reconciled_at = now
    state.save(update_fields=["last_seq", "reconciled_at"])
    return ReconcileResult(created=len(created), changed=len(changed) - removed, removed=removed, last_seq=seq)


def sync_head(application: Application) -> int:
    state = AppSyncState.objects.filter(application=application).only("last_seq").first()
    return state.last_seq if state is not None else 0


def sync_page(*, application: Application, after: int, skip_removed_until: int, limit: int) -> list[AppSyncEntry]:
    """Entries after `after` in feed order. Tombstones up to `skip_removed_until` are left out (a first sync
    has nothing to delete); later ones are news even to a first sync that is still paging."""
    entries = AppSyncEntry.objects.filter(application=application, seq__gt=after)
    if skip_removed_until:
        entries = entries.exclude(assigned=False, seq__lte=skip_removed_until)
    return list(entries.order_by("seq")[: limit + 1])


def feed_item(entry: AppSyncEntry) -> dict[str, Any]:
    changed = entry.changed_at.isoformat().replace("+00:00", "Z")
    if not entry.assigned:
        return {"sub": str(entry.sub), "deleted": True, "updated_at": changed, "sync_hash": None}
    return {**entry.data, "deleted": False, "updated_at": changed, "sync_hash": entry.sync_hash}
