"""Writing audit events (call audit_record inside the same transaction as the change it records), and
the retention purge that removes old ones while keeping each chain verifiable."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, models, transaction
from django.utils import timezone

from audit.chain import chain_for
from audit.models import AuditChain, AuditEvent
from config.exceptions import DomainError
from orgs.models import Organization

# An org's retention: at least a day (0 is for the command, which an operator runs on purpose), at most 100 years.
RETENTION_DAYS_LIMITS = (1, 36500)


def _target_fields(target: models.Model | None) -> dict[str, str]:
    if target is None:
        return {}
    return {
        "target_type": target._meta.label_lower,
        "target_id": str(target.pk),
        "target_label": str(target)[:254],
    }


def _request_fields(request) -> dict[str, Any]:
    if request is None:
        return {}
    return {
        "ip": getattr(request, "client_ip", None) or request.META.get("REMOTE_ADDR") or None,
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:500],
        "forwarded_for": request.META.get("HTTP_X_FORWARDED_FOR", "")[:500],
    }


def audit_record(
    *,
    action: str,
    actor=None,
    org=None,
    target: models.Model | None = None,
    request=None,
    metadata: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record that `actor` did `action` (a `<noun>.<past-verb>` name) to `target` in `org`.

    The actor is a user or None for the system; its email is kept as a label so the row still
    reads correctly after the user is deleted.
    """
    actor_user = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    metadata = dict(metadata or {})
    # The management API names the key (or application) that acted (api/base.py): a key acts for its
    # creator, and without this the log could not tell the creator's own clicks from a script's.
    credential = getattr(request, "api_credential", None) if request is not None else None
    if isinstance(credential, dict):
        metadata.setdefault("api_credential", credential)
    return AuditEvent.objects.create(
        org=org,
        actor=actor_user,
        actor_label=actor_user.email if actor_user else "",
        action=action,
        metadata=metadata,
        **_target_fields(target),
        **_request_fields(request),
    )


# ------------------------------------------------------------------------------------ retention purge

PURGE_BATCH = 5000


@dataclass(frozen=True)
class PurgeResult:
    chain: int
    purged: int
    through_seq: int | None = None  # the last purged event's seq; None when nothing was old enough
    anchor: AuditEvent | None = None  # the audit.purged event that anchors what remains


@contextmanager
def _purge_deletes_allowed(using: str) -> Iterator[None]:
    """The PostgreSQL trigger (migration 0006) lets DELETE through only while the transaction says so.
    Said with SET LOCAL and unsaid at the end, so even a purge run inside a caller's transaction does not
    leave the door open for the rest of it (a failure rolls the savepoint, and the setting, back)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL gatehouse.audit_purge = 'on'")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL gatehouse.audit_purge = 'off'")


def audit_purge(*, org: Organization | None, days: int, actor=None, now: datetime | None = None,
                batch_size: int = PURGE_BATCH) -> PurgeResult:
    """Delete `org`'s events (None: the platform's) older than `days` days — 0 deletes every event so far —
    leaving an `audit.purged` event whose metadata anchors the chain (audit/integrity.py).

    What goes is a prefix of the chain: events up to the last one before the first event that is not
    old enough (an event written a moment later may have been given an earlier time). The anchor is
    written first, in a short transaction that holds the chain's head lock only to choose the prefix;
    the deletes then run in batches of their own, so sign-ins recording events are never held up
    for the length of a big purge, and a purge interrupted half-way leaves a chain that still verifies
    (run it again to finish).
    """
    if days < 0:
        raise DomainError("The retention must be 0 days or more.", field="days")
    now = now or timezone.now()
    cutoff = now - timedelta(days=days)
    chain = chain_for(org.pk if org else None)
    events = AuditEvent.objects.filter(chain=chain)
    with transaction.atomic():
        head = AuditChain.objects.select_for_update().filter(chain=chain).first()
        oldest = events.order_by("seq").values_list("seq", flat=True).first()
        if head is None or oldest is None:
            return PurgeResult(chain=chain, purged=0)
        first_kept = events.filter(created_at__gte=cutoff).order_by("seq").values_list("seq", flat=True).first()
        through = head.seq if first_kept is None else first_kept - 1
        if through < oldest:
            return PurgeResult(chain=chain, purged=0)
        last = events.filter(seq=through).values_list("hash", flat=True).first()
        if last is None:
            raise DomainError(f"The audit chain has no event at seq {through}: run `manage.py audit_verify` "
                              "before purging; nothing was deleted.")
        count = events.filter(seq__lte=through).count()
        anchor = audit_record(action="audit.purged", actor=actor, org=org, metadata={
            "through_seq": through, "through_hash": last, "purged": count,
            "older_than": cutoff.isoformat(), "days": days,
        })
    purged = 0
    while True:
        with transaction.atomic():
            ids = list(events.filter(seq__lte=through).order_by("seq").values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            with _purge_deletes_allowed(events.db):
                purged += AuditEvent.objects.filter(pk__in=ids).purge_delete()
    return PurgeResult(chain=chain, purged=purged, through_seq=through, anchor=anchor)


def audit_retention_purge(*, now: datetime | None = None) -> list[PurgeResult]:
    """The periodic job: each org with a retention set, and the platform's chain if
    GATEHOUSE_AUDIT_PLATFORM_RETENTION_DAYS is set. Returns what each purge did."""
    now = now or timezone.now()
    results = []
    for org in Organization.objects.filter(audit_retention_days__isnull=False).order_by("pk"):
        assert org.audit_retention_days is not None  # the filter above
        results.append(audit_purge(org=org, days=org.audit_retention_days, now=now))
    platform_days = settings.GATEHOUSE_AUDIT_PLATFORM_RETENTION_DAYS
    if platform_days is not None:
        results.append(audit_purge(org=None, days=platform_days, now=now))
    return results


@transaction.atomic
def audit_retention_update(*, org: Organization, days: int | None, actor, request=None) -> Organization:
    """Set how many days `org` keeps its audit events (None: for ever). The next daily purge applies it."""
    if days is not None and not (RETENTION_DAYS_LIMITS[0] <= days <= RETENTION_DAYS_LIMITS[1]):
        low, high = RETENTION_DAYS_LIMITS
        raise DomainError(f"Keep events for {low} to {high} days, or leave it empty to keep them for ever.",
                          field="days")
    locked = Organization.objects.select_for_update().get(pk=org.pk)
    before = locked.audit_retention_days
    if before == days:
        return locked
    Organization.objects.filter(pk=org.pk).update(audit_retention_days=days)
    locked.audit_retention_days = days
    audit_record(action="audit.retention_changed", actor=actor, org=locked, target=locked, request=request,
                 metadata={"before": {"retention_days": before}, "after": {"retention_days": days}})
    return locked


def audit_export_record(*, org: Organization | None, actor, request=None, fmt: str, filters: dict) -> AuditEvent:
    """Record that `actor` exported `org`'s log (None: the platform's whole log) with these filters."""
    return audit_record(action="audit.exported", actor=actor, org=org, request=request,
                        metadata={"format": fmt, "filters": filters})


def audit_chain_listeners_set(*, org: Organization, count: int) -> None:
    """Say how many listeners want `org`'s new events (webhooks: its active endpoints). Call it inside the
    transaction that changes them: it locks the chain's head, so no event is written between the change
    and the count, and every later event of the org reads the new count in the statement that links it."""
    chain = chain_for(org.pk)
    AuditChain.objects.bulk_create([AuditChain(chain=chain)], ignore_conflicts=True)
    AuditChain.objects.filter(chain=chain).update(listeners=max(0, count))
