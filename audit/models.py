"""AuditEvent: who did what to what, from where — written in the same transaction as the change.

Events are append-only and hash-chained per organization (audit/chain.py). Every way of writing one —
`AuditEvent.objects.create`, `save()` of a new event, `bulk_create` — links it into its chain under a
lock on the chain's head row (AuditChain), so concurrent writers never fork a chain, and then tells the
listeners registered in audit/events.py (webhooks) in the same transaction.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.db import connections, models, router, transaction
from django.utils import timezone

from audit.chain import GENESIS, chain_for, event_hash
from audit.events import audit_listeners_notify
from orgs.models import Organization, OrgScopedQuerySet

APPEND_ONLY = "Audit events are append-only (old ones leave through the retention purge)."


class AuditChain(models.Model):
    """The head of one chain: its last event's seq and hash. Writers of the chain lock this row."""

    # An organization's id, or 0 for the platform chain. Not a foreign key: a chain outlives its org.
    chain = models.BigIntegerField(primary_key=True)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, blank=True, default=GENESIS)
    # How many listeners want this chain's new events (an org's active webhook endpoints, kept by the
    # webhooks app): read in the same statement that reserves a seq, so an org without webhooks pays
    # nothing more for them on any write.
    listeners = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"chain {self.chain} at {self.seq}"


# Vendors on which a trigger (migration 0006) copies each chain's last inserted hash into its head row, in
# the INSERT itself; elsewhere _close does it with one more statement.
HEAD_TRIGGER_VENDORS = frozenset({"postgresql", "sqlite"})


def _chain_advance(using: str, counts: dict[int, int]) -> dict[int, tuple[int, str, int]]:
    """Reserve counts[chain] seqs at the end of each chain: chain → (the first of them, the hash they
    follow, how many listeners the chain has).

    One UPDATE both locks the head rows (PostgreSQL: those rows; SQLite: the whole database, as every
    write does) and moves them on, so two writers of one chain queue here instead of forking it. This
    is the one statement the chain adds to a write; the head's hash is kept by the trigger.
    """
    connection = connections[using]
    table = connection.ops.quote_name(AuditChain._meta.db_table)
    reserved: dict[int, tuple[int, str, int]] = {}
    for attempt in range(2):
        wanted = {chain: count for chain, count in counts.items() if chain not in reserved}
        if not wanted:
            break
        chains = sorted(wanted)
        cases = " ".join("WHEN %s THEN %s" for _ in chains)
        holes = ", ".join("%s" for _ in chains)
        sql = (f"UPDATE {table} SET seq = seq + CASE chain {cases} END "  # noqa: S608 (placeholders only)
               f"WHERE chain IN ({holes}) RETURNING chain, seq, hash, listeners")
        params = [value for chain in chains for value in (chain, wanted[chain])] + chains
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            for chain, last_seq, prev_hash, listeners in cursor.fetchall():
                reserved[chain] = (last_seq - wanted[chain] + 1, prev_hash, listeners)
        missing = [chain for chain in chains if chain not in reserved]
        if missing and attempt == 0:
            # A chain's first event: make its head (a concurrent first writer's insert wins, harmlessly).
            AuditChain.objects.using(using).bulk_create([AuditChain(chain=chain) for chain in missing],
                                                        ignore_conflicts=True)
    return reserved


def _link(events: list["AuditEvent"], using: str) -> tuple[dict[int, str], list["AuditEvent"]]:
    """Give each new event its chain, seq, prev_hash and hash. Returns each chain's new head hash, and
    the events whose chain has listeners (the ones to hand to them once inserted)."""
    by_chain: dict[int, list[AuditEvent]] = defaultdict(list)
    for event in events:
        if event.pk is not None:
            raise TypeError(APPEND_ONLY)
        event.chain = chain_for(event.org_id)
        by_chain[event.chain].append(event)
    reserved = _chain_advance(using, {chain: len(group) for chain, group in by_chain.items()})
    heads = {}
    heard = []
    for chain, group in by_chain.items():
        seq, prev_hash, listeners = reserved[chain]
        for offset, event in enumerate(group):
            event.seq, event.prev_hash = seq + offset, prev_hash
            event.hash = prev_hash = event_hash(event)
        heads[chain] = prev_hash
        if listeners:
            heard.extend(group)
    return heads, heard


def _close(heads: dict[int, str], using: str) -> None:
    if connections[using].vendor in HEAD_TRIGGER_VENDORS:
        return
    for chain, head_hash in heads.items():
        AuditChain.objects.using(using).filter(chain=chain).update(hash=head_hash)


class AuditEventQuerySet(OrgScopedQuerySet):
    def update(self, **kwargs):
        raise TypeError(APPEND_ONLY)

    def delete(self):
        raise TypeError(APPEND_ONLY)

    def bulk_create(self, objs: Iterable["AuditEvent"], *args, **kwargs) -> list["AuditEvent"]:
        """Insert many events at once, chained as one write each would be (directory's CSV import)."""
        events = list(objs)
        if not events:
            return events
        with transaction.atomic(using=self.db, savepoint=False):
            heads, heard = _link(events, self.db)
            created = super().bulk_create(events, *args, **kwargs)
            _close(heads, self.db)
            if heard:
                audit_listeners_notify(heard)
        return created

    def purge_delete(self) -> int:
        """Delete these events: only for the retention purge (audit.purge), which sets what the
        PostgreSQL trigger requires first. No cascade to collect: nothing points at an event."""
        return self._raw_delete(self.db)


class AuditEvent(models.Model):
    """One recorded action. Append-only: saving an existing row, updating or deleting raises.

    `actor_label` and `target_label` keep a readable name after the row they point at is gone.
    """

    org = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=254, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    # Raw proxy headers as received, beside the IP we decided to believe.
    forwarded_for = models.CharField(max_length=500, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The hash chain (audit/chain.py): the org's id (0: the platform), the place in it, the links.
    chain = models.BigIntegerField(default=0)
    seq = models.PositiveBigIntegerField(default=0)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Two writers can never both take a place in a chain, even if the head lock were bypassed.
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_chain_seq_unique"),
        ]
        indexes = [
            models.Index(fields=["org", "-created_at"], name="audit_org_time"),
            # The console's action filter: one org's events of one action, already newest first, so a
            # page of a rare action (say `password_policy.updated`) need not walk the whole org's log.
            models.Index(fields=["org", "action", "-created_at"], name="audit_org_action_time"),
            # The IP and target-id filters. The actor and target-label prefix filters have
            # PostgreSQL-only UPPER(...) text_pattern_ops indexes, made in migration 0004.
            models.Index(fields=["org", "ip", "-created_at"], name="audit_org_ip_time"),
            models.Index(fields=["org", "target_id", "-created_at"], name="audit_org_target_time"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label or '-'} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError(APPEND_ONLY)
        using = kwargs.get("using") or router.db_for_write(AuditEvent, instance=self)
        with transaction.atomic(using=using, savepoint=False):
            heads, heard = _link([self], using)
            super().save(*args, **kwargs)
            _close(heads, using)
            if heard:
                audit_listeners_notify(heard)

    def delete(self, *args, **kwargs):
        raise TypeError(APPEND_ONLY)
