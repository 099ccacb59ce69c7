"""Revoking one API key from several places at once: exactly one revocation, one audit row (PostgreSQL)."""

import threading

import pytest
from django.db import connection, connections

from applications.apikey_services import api_key_create, api_key_revoke
from applications.models import ApiKey
from audit.models import AuditEvent
from config.exceptions import NotAllowed

PARALLEL = 8


@pytest.fixture
def shared_database(transactional_db):
    if connection.vendor == "sqlite":
        pytest.fail("a services test: run it with DATABASE_URL pointing at PostgreSQL (see .ci/run); the in-memory "
                    "SQLite test database cannot take parallel writers")


@pytest.mark.services
def test_parallel_revocations_of_one_key_revoke_it_once(shared_database, org, org_admin):
    key, _raw = api_key_create(org=org, actor=org_admin, request=None, name="Shared", scopes=["members.view"])
    barrier = threading.Barrier(PARALLEL)
    outcomes: list[str] = []

    def run():
        barrier.wait()
        try:
            api_key_revoke(api_key=ApiKey.objects.get(pk=key.pk), actor=org_admin, request=None)
            outcomes.append("revoked")
        except NotAllowed:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["refused"] * (PARALLEL - 1) + ["revoked"]
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1
