"""The migration that hash-chains the audit log chains the events already written, in id order."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from audit.chain import GENESIS, PLATFORM_CHAIN
from audit.integrity import chain_verify
from audit.models import AuditChain, AuditEvent
from orgs.models import Organization

BEFORE = [("audit", "0004_audit_filter_indexes")]


@pytest.mark.django_db(transaction=True)
def test_existing_events_are_chained_in_id_order():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    OldEvent = old.get_model("audit", "AuditEvent")
    acme = Organization.objects.create(slug="old-acme", name="Old Acme")  # orgs' tables stay as they are
    written = [OldEvent.objects.create(org_id=org.pk if org else None, action=action, metadata={"n": n})
               for n, (org, action) in enumerate([(acme, "group.created"), (None, "login.failed"),
                                                  (acme, "group.deleted"), (acme, "group.created"),
                                                  (None, "login.failed")])]
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

        events = {e.pk: e for e in AuditEvent.objects.all()}
        acme_events = [events[w.pk] for w in written if w.org_id == acme.pk]
        assert [(e.chain, e.seq) for e in acme_events] == [(acme.pk, 1), (acme.pk, 2), (acme.pk, 3)]
        assert acme_events[0].prev_hash == GENESIS
        assert acme_events[1].prev_hash == acme_events[0].hash
        platform = [events[w.pk] for w in written if w.org_id is None]
        assert [(e.chain, e.seq) for e in platform] == [(PLATFORM_CHAIN, 1), (PLATFORM_CHAIN, 2)]
        assert AuditChain.objects.get(chain=acme.pk).hash == acme_events[-1].hash
        assert chain_verify(chain=acme.pk).ok
        assert chain_verify(chain=PLATFORM_CHAIN).ok
    finally:
        call_command("migrate", verbosity=0)  # leave the schema as every other test expects it
