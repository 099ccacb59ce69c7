"""On PostgreSQL: the trigger that refuses UPDATE and DELETE of audit events outside the purge, and
concurrent writers that must queue on the chain's head instead of forking it. Runs in .ci/run."""

import threading
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, connections, transaction

from audit.integrity import chain_verify
from audit.models import AuditEvent
from audit.services import audit_purge, audit_record
from config.tests.test_services import require_env
from directory.tests.factories import OrganizationFactory, UserFactory

pytestmark = pytest.mark.services
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def postgresql(db):
    require_env("DATABASE_URL")
    assert connection.vendor == "postgresql"


def raw(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_the_trigger_refuses_an_update(postgresql, org):
    event = audit_record(action="membership.role_changed", org=org, metadata={"after": "admin"})

    with pytest.raises(DatabaseError, match="audit events are append-only: UPDATE refused"), transaction.atomic():
        raw("UPDATE audit_auditevent SET metadata = '{\"after\": \"owner\"}' WHERE id = %s", [event.pk])
    # Setting a link to NULL is allowed only on its own: here it comes with another change.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw("UPDATE audit_auditevent SET org_id = NULL, action = 'group.created' WHERE id = %s", [event.pk])

    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.metadata, stored.action, stored.org_id) == ({"after": "admin"}, "membership.role_changed", org.pk)


def test_the_trigger_refuses_a_delete_outside_the_purge(postgresql, org):
    event = audit_record(action="group.created", org=org)

    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), transaction.atomic():
        raw("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    with transaction.atomic():
        raw("SET LOCAL gatehouse.audit_purge = 'off'")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            raw("DELETE FROM audit_auditevent")

    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_purge_may_delete_and_the_permission_ends_with_its_transaction(postgresql, org):
    events = [AuditEvent.objects.create(org=org, action="group.created", created_at=LONG_AGO) for _ in range(3)]
    kept = audit_record(action="group.updated", org=org)

    result = audit_purge(org=org, days=30)

    assert result.purged == 3
    assert not AuditEvent.objects.filter(pk__in=[e.pk for e in events]).exists()
    assert chain_verify(chain=org.pk).ok
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw("DELETE FROM audit_auditevent WHERE id = %s", [kept.pk])


def test_deleting_users_and_orgs_still_works_and_the_chain_holds(postgresql, org):
    user = UserFactory(email="leaver@example.test")
    doomed = OrganizationFactory(slug="doomed")
    kept = audit_record(action="user.created", actor=user, org=org, target=user)
    gone = audit_record(action="group.created", actor=user, org=doomed)

    user.delete()
    doomed.delete()

    assert AuditEvent.objects.get(pk=kept.pk).actor is None
    assert AuditEvent.objects.get(pk=gone.pk).org is None
    out = StringIO()
    call_command("audit_verify", stdout=out)
    assert "BROKEN" not in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_queue_on_the_head_and_never_fork_the_chain():
    require_env("DATABASE_URL")
    org = OrganizationFactory(slug="busy")
    writers, per_writer = 6, 25
    errors = []
    start = threading.Barrier(writers)

    def write(n: int) -> None:
        try:
            start.wait()
            for i in range(per_writer):
                with transaction.atomic():
                    audit_record(action="login.succeeded", org=org, metadata={"writer": n, "i": i})
        except Exception as exc:  # reported below: a fork would surface as the unique (chain, seq) error
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    seqs = list(AuditEvent.objects.filter(chain=org.pk).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, writers * per_writer + 1))
    report = chain_verify(chain=org.pk)
    assert report.ok, report.problem
