"""Several pollers of one application's feed at once (PostgreSQL): one reconcile at a time, no lost or
duplicated sequence numbers."""

import threading

import pytest
from django.db import connection, connections

from api.models import AppSyncEntry, AppSyncState
from api.sync import sync_reconcile
from applications.services import application_create
from directory.tests.factories import MembershipFactory, UserFactory

PARALLEL = 6


@pytest.fixture
def shared_database(transactional_db):
    if connection.vendor == "sqlite":
        pytest.fail("a services test: run it with DATABASE_URL pointing at PostgreSQL (see .ci/run)")


@pytest.mark.services
def test_parallel_reconciles_write_each_user_once(shared_database, org):
    for index in range(30):
        MembershipFactory(org=org, user=UserFactory(email=f"u{index}@acme.test"))
    app = application_create(org=org, name="Wiki", kind="machine").application
    barrier = threading.Barrier(PARALLEL)
    errors: list[BaseException] = []

    def run():
        try:
            barrier.wait()
            sync_reconcile(application=app, force=True)
        except BaseException as exc:  # noqa: BLE001 (collected and asserted below)
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    entries = AppSyncEntry.objects.filter(application=app)
    assert entries.count() == 30
    seqs = sorted(entries.values_list("seq", flat=True))
    assert seqs == list(range(1, 31))
    assert AppSyncState.objects.get(application=app).last_seq == 30
