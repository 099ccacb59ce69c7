"""config/compiled_inserts.py writes a new row as Model.save() would, with SQL built once, and hands to the ORM
what it does not replay."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Value
from django.db.models.functions import Upper
from django.db.models.signals import pre_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from applications.models import Application, AuthorizationRecord
from audit.integrity import chain_verify
from audit.models import AuditEvent
from audit.services import audit_record
from config import compiled_inserts
from config.compiled_inserts import insert
from identity.models import UserSession
from identity.tests.oidc_support import make_web_app

pytestmark = pytest.mark.django_db


def _session(user, **fields) -> UserSession:
    now = timezone.now()
    values = {"user": user, "session_key": "k" * 32, "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
              "device": "Firefox on Linux", "ip": "192.0.2.7", "amr": ["pwd", "otp"], "auth_time": now,
              "created_at": now, "last_seen_at": now, "expires_at": now + timedelta(days=14), **fields}
    return UserSession(**values)


def test_a_new_row_is_written_as_save_writes_it(org_member):
    by_orm = _session(org_member)
    by_orm.save()
    with CaptureQueriesContext(connection) as queries:
        compiled = insert(_session(org_member, auth_time=by_orm.auth_time, created_at=by_orm.created_at,
                                   last_seen_at=by_orm.last_seen_at, expires_at=by_orm.expires_at))

    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
    assert compiled.pk is not None
    assert compiled.pk != by_orm.pk
    assert (compiled._state.adding, compiled._state.db) == (False, "default")
    columns = [field.attname for field in UserSession._meta.concrete_fields if field.attname not in ("id", "sid")]
    rows = {row["id"]: row for row in UserSession.objects.values("id", "sid", *columns)}
    assert {k: v for k, v in rows[compiled.pk].items() if k not in ("id", "sid")} == \
        {k: v for k, v in rows[by_orm.pk].items() if k not in ("id", "sid")}
    assert rows[compiled.pk]["sid"] == compiled.sid
    assert rows[compiled.pk]["amr"] == ["pwd", "otp"]
    assert compiled_inserts._sql[(UserSession, "default")].startswith("INSERT INTO")  # built once, kept


def _app(org) -> Application:
    return Application.objects.get(client_id=make_web_app(org).client_id)


def test_the_code_record_and_audit_events_are_written_whole(org_member, org):
    record = insert(AuthorizationRecord(code_checksum="c" * 64, application=_app(org), user=org_member,
                                        sid="s1", amr=["hwk"], auth_time=timezone.now()))
    assert AuthorizationRecord.objects.get(pk=record.pk).amr == ["hwk"]
    for n in range(3):
        audit_record(action="test.written", actor=org_member, org=org, target=org_member, metadata={"n": n})
    events = list(AuditEvent.objects.filter(action="test.written").order_by("seq"))
    assert [event.metadata["n"] for event in events] == [0, 1, 2]
    assert [event.seq for event in events] == [events[0].seq, events[0].seq + 1, events[0].seq + 2]
    assert chain_verify(chain=events[0].chain).ok  # each row hashes to what was written


def test_a_model_with_a_pre_save_receiver_is_saved_by_the_orm(org_member):
    heard = []

    def receiver(sender, instance, **kwargs):
        heard.append(instance.device)

    pre_save.connect(receiver, sender=UserSession)
    try:
        saved = insert(_session(org_member, device="Receiver test"))
    finally:
        pre_save.disconnect(receiver, sender=UserSession)
    assert heard == ["Receiver test"]
    assert UserSession.objects.get(pk=saved.pk).device == "Receiver test"


def test_an_expression_is_left_to_the_orm(org_member):
    saved = insert(_session(org_member, device=Upper(Value("firefox"))))
    assert UserSession.objects.get(pk=saved.pk).device == "FIREFOX"
    # The kept SQL is still the plain one: the next row is written by it.
    assert UserSession.objects.get(pk=insert(_session(org_member, session_key="n" * 32)).pk).session_key == "n" * 32


def test_a_row_with_its_key_set_is_saved_by_the_orm(org_member):
    saved = insert(_session(org_member))
    saved.device = "Changed"
    insert(saved)  # as save() would: an UPDATE of that row, no second row
    assert list(UserSession.objects.values_list("device", flat=True)) == ["Changed"]


def test_a_refused_insert_inside_a_transaction_rolls_it_back(org_member):
    first = insert(_session(org_member))
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            insert(_session(org_member, sid=first.sid))  # sid is unique
        assert connection.needs_rollback  # as save() leaves it: the block rolls back at its end
    assert UserSession.objects.count() == 1
