"""The audit hash chain: every write path links events, audit_verify finds a tampered, removed or reordered
event, and the retention purge leaves an anchor so the chain still verifies."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.chain import GENESIS, PLATFORM_CHAIN, event_hash
from audit.integrity import chain_verify
from audit.models import AuditChain, AuditEvent
from audit.services import audit_purge, audit_record, audit_retention_purge
from audit.tasks import audit_retention_purge_task
from config.exceptions import DomainError
from directory.tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def verify(*args) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("audit_verify", *args, stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + str(exc)
    return 0, out.getvalue()


def raw(sql: str, params=()) -> None:
    """Change the table behind the ORM's back, as someone holding the database's owner role could (on
    PostgreSQL that means switching the append-only trigger off first: test_postgresql.py shows it refuses)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def old_event(org, action="group.created", *, days_ago: float, **fields) -> AuditEvent:
    return AuditEvent.objects.create(org=org, action=action, created_at=NOW - timedelta(days=days_ago), **fields)


def test_events_are_linked_per_org_with_the_platform_chain_apart(org, other_org):
    a1 = audit_record(action="group.created", org=org, metadata={"name": "Eng"})
    g1 = audit_record(action="group.created", org=other_org)
    p1 = audit_record(action="login.failed", metadata={"email": "nobody@example.test"})
    a2 = audit_record(action="group.deleted", org=org, metadata={"name": "Eng", "members": (1, 2)})

    assert (a1.chain, a1.seq, a1.prev_hash) == (org.pk, 1, GENESIS)
    assert (a2.chain, a2.seq, a2.prev_hash) == (org.pk, 2, a1.hash)
    assert (g1.chain, g1.seq, g1.prev_hash) == (other_org.pk, 1, GENESIS)
    assert (p1.chain, p1.seq) == (PLATFORM_CHAIN, 1)
    # The hash is of the fields as stored and read back (the tuple comes back a list).
    for event in (a1, a2, g1, p1):
        stored = AuditEvent.objects.get(pk=event.pk)
        assert stored.hash == event.hash == event_hash(stored)
    assert AuditChain.objects.get(chain=org.pk).seq == 2
    assert AuditChain.objects.get(chain=org.pk).hash == a2.hash

    status, out = verify()
    assert status == 0, out
    assert "ok      platform: 1 events" in out
    assert "ok      org acme: 2 events, head seq 2 " + a2.hash in out
    assert "ok      org globex: 1 events" in out


def test_bulk_created_events_are_chained_too(org):
    """directory's CSV import writes its audit rows with bulk_create."""
    first = audit_record(action="user_import.confirmed", org=org)
    rows = AuditEvent.objects.bulk_create(
        [AuditEvent(org=org, action="membership.created", target_label=f"p{i}@acme.test") for i in range(3)])

    assert [row.seq for row in rows] == [2, 3, 4]
    assert rows[0].prev_hash == first.hash
    assert chain_verify(chain=org.pk).ok


def test_an_ip_is_hashed_as_an_address_however_the_database_spells_it(org):
    audit_record(action="login.succeeded", org=org, metadata={"ip": "first"})
    v6 = AuditEvent.objects.create(org=org, action="login.succeeded", ip="2001:DB8:0:0::1")
    assert event_hash(AuditEvent.objects.get(pk=v6.pk)) == v6.hash
    assert verify("--org", "acme")[0] == 0


def test_a_changed_field_is_detected_and_named(org):
    audit_record(action="group.created", org=org)
    target = audit_record(action="membership.role_changed", org=org, metadata={"before": "member", "after": "admin"})
    audit_record(action="group.deleted", org=org)
    raw("UPDATE audit_auditevent SET metadata = %s WHERE id = %s",
        ['{"before": "member", "after": "owner"}', target.pk])

    status, out = verify("--org", "acme")

    assert status == 1
    assert f"BROKEN  org acme: event {target.pk} (seq 2) was changed after it was written" in out
    assert "1 audit chain(s) broken." in out


def test_a_removed_event_is_detected(org):
    events = [audit_record(action="group.created", org=org) for _ in range(3)]
    raw("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])

    status, out = verify()

    assert status == 1
    assert f"events between seq 1 and event {events[2].pk} (seq 3) are missing" in out


def test_removed_first_and_last_events_are_detected(org, other_org):
    acme = [audit_record(action="group.created", org=org) for _ in range(3)]
    globex = [audit_record(action="group.created", org=other_org) for _ in range(3)]
    raw("DELETE FROM audit_auditevent WHERE id = %s", [acme[0].pk])
    raw("DELETE FROM audit_auditevent WHERE id = %s", [globex[2].pk])

    status, out = verify()

    assert status == 1
    assert f"events before event {acme[1].pk} (seq 2) are missing, and no purge accounts for them" in out
    assert "org globex: the last event is seq 2 but the chain's head is at seq 3" in out
    assert "2 audit chain(s) broken." in out


def test_a_rewritten_event_with_a_recomputed_hash_breaks_the_next_link(org):
    events = [audit_record(action="group.created", org=org) for _ in range(3)]
    forged = AuditEvent.objects.get(pk=events[1].pk)
    forged.action = "group.updated"
    raw("UPDATE audit_auditevent SET action = %s, hash = %s WHERE id = %s",
        ["group.updated", event_hash(forged), forged.pk])

    status, out = verify("--org", "acme")

    assert status == 1
    assert f"event {events[2].pk} (seq 3) does not link to the event before it (seq 2)" in out


def test_unknown_org_is_exit_2(db):
    status, out = verify("--org", "nope")
    assert status == 2
    assert "no organization with the slug “nope”" in out


def test_deleting_a_user_or_an_org_keeps_the_chains_whole(org):
    user = UserFactory(email="leaver@example.test")
    doomed = OrganizationFactory(slug="doomed")
    audit_record(action="user.created", actor=user, org=org, target=user)
    audit_record(action="group.created", actor=user, org=doomed)

    doomed_pk = doomed.pk
    user.delete()
    doomed.delete()

    status, out = verify()
    assert status == 0, out
    assert f"ok      org #{doomed_pk} (deleted): 1 events" in out


# ------------------------------------------------------------------------------------------ purge


def test_purge_removes_old_events_and_anchors_the_chain(org, operator):
    for days_ago in (400, 200, 100):
        old_event(org, days_ago=days_ago)
    recent = old_event(org, days_ago=10)
    kept_other = old_event(None, "login.failed", days_ago=400)

    result = audit_purge(org=org, days=30, actor=operator, now=NOW)

    assert result.purged == 3
    assert result.through_seq == 3
    remaining = list(AuditEvent.objects.filter(org=org).order_by("seq"))
    assert [e.pk for e in remaining] == [recent.pk, result.anchor.pk]
    anchor = remaining[-1]
    assert anchor.action == "audit.purged"
    assert anchor.actor_label == operator.email
    assert anchor.metadata["purged"] == 3
    assert anchor.metadata["through_seq"] == 3
    assert anchor.metadata["through_hash"] == recent.prev_hash
    assert AuditEvent.objects.filter(pk=kept_other.pk).exists()  # another chain is untouched
    assert verify()[0] == 0


def test_purge_with_0_days_removes_everything_so_far_and_verifies_after_two_purges(org):
    for days_ago in (3, 2, 1):
        old_event(org, days_ago=days_ago)

    first = audit_purge(org=org, days=0, now=NOW + timedelta(days=1))
    assert first.purged == 3
    assert list(AuditEvent.objects.filter(org=org).values_list("action", flat=True)) == ["audit.purged"]
    assert verify("--org", "acme")[0] == 0

    audit_record(action="group.created", org=org)
    second = audit_purge(org=org, days=0, now=NOW + timedelta(days=400))
    assert second.purged == 2  # the first anchor and the event after it
    assert AuditEvent.objects.filter(org=org).get().pk == second.anchor.pk
    assert verify("--org", "acme")[0] == 0


def test_a_purge_with_nothing_old_enough_writes_nothing(org):
    old_event(org, days_ago=1)
    result = audit_purge(org=org, days=30, now=NOW)
    assert (result.purged, result.anchor) == (0, None)
    assert AuditEvent.objects.filter(org=org).count() == 1


def test_an_interrupted_purge_still_verifies(org, monkeypatch):
    """The anchor is written before the deletes: a purge that stops half-way leaves a chain that holds."""
    for days_ago in (50, 40, 35, 31):
        old_event(org, days_ago=days_ago)
    calls = []

    def stop_after_first_batch(self):
        if calls:
            raise KeyboardInterrupt
        calls.append(1)
        return self._raw_delete(self.db)

    monkeypatch.setattr("audit.models.AuditEventQuerySet.purge_delete", stop_after_first_batch)
    with pytest.raises(KeyboardInterrupt):
        audit_purge(org=org, days=30, now=NOW, batch_size=2)
    assert AuditEvent.objects.filter(org=org).count() == 3  # two of four went, the anchor came
    assert verify("--org", "acme")[0] == 0

    monkeypatch.undo()
    audit_purge(org=org, days=30, now=NOW)
    assert verify("--org", "acme")[0] == 0


def test_a_purge_does_not_hide_tampering_in_what_it_keeps(org):
    old_event(org, days_ago=100)
    kept = old_event(org, days_ago=1, metadata={"n": 1})
    audit_purge(org=org, days=30, now=NOW)
    raw("UPDATE audit_auditevent SET metadata = %s WHERE id = %s", ['{"n": 2}', kept.pk])

    status, out = verify("--org", "acme")
    assert status == 1
    assert f"event {kept.pk} (seq 2) was changed" in out


def test_the_purge_command(org, other_org, settings):
    org.audit_retention_days = 30
    org.save()
    old_event(org, days_ago=1000)
    old_event(other_org, days_ago=1000)

    out = StringIO()
    call_command("audit_purge", stdout=out)  # every org with a retention; globex has none
    assert "org acme: purged 1 events through seq 1; anchor event" in out.getvalue()
    assert AuditEvent.objects.filter(org=other_org).count() == 1

    out = StringIO()
    call_command("audit_purge", "--org", "globex", "--days", "0", stdout=out)
    assert "org globex: purged 1 events through seq 1" in out.getvalue()

    with pytest.raises(CommandError, match="keeps its events for ever") as excinfo:
        call_command("audit_purge", "--org", "-")
    assert excinfo.value.returncode == 2
    with pytest.raises(CommandError, match="no organization") as excinfo:
        call_command("audit_purge", "--org", "nope", "--days", "1")
    assert excinfo.value.returncode == 2
    assert verify()[0] == 0


def test_the_daily_job_purges_orgs_with_a_retention_and_the_platform_if_set(org, other_org, settings):
    settings.GATEHOUSE_AUDIT_PLATFORM_RETENTION_DAYS = 90
    org.audit_retention_days = 7
    org.save()
    AuditEvent.objects.create(org=org, action="group.created", created_at=datetime.now(UTC) - timedelta(days=30))
    AuditEvent.objects.create(org=other_org, action="group.created", created_at=datetime.now(UTC) - timedelta(days=30))
    AuditEvent.objects.create(action="login.failed", created_at=datetime.now(UTC) - timedelta(days=100))

    assert audit_retention_purge_task() == {str(org.pk): 1, str(PLATFORM_CHAIN): 1}
    assert AuditEvent.objects.filter(org=other_org).count() == 1
    assert audit_retention_purge() != []  # nothing left to purge: each result says 0
    assert verify()[0] == 0


def test_purge_refuses_a_negative_retention(org):
    with pytest.raises(DomainError):
        audit_purge(org=org, days=-1)
