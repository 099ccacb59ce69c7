"""email_enqueue_many: the rows email_enqueue writes, in one INSERT, handed to the broker in chunks after commit."""

import pytest
from django.core import mail
from kombu.exceptions import OperationalError

from config.exceptions import DomainError
from emailqueue import services
from emailqueue.models import OutboundEmail
from emailqueue.services import EmailDraft, email_dispatch, email_enqueue, email_enqueue_many
from emailqueue.tasks import deliver_email, deliver_emails

pytestmark = pytest.mark.django_db
Status = OutboundEmail.Status
LINK = "https://idp.example.test/invitation/tok?a=1&b=2"


def draft(to="new.person@example.test", org=None, name="O'Brien") -> EmailDraft:
    return EmailDraft(to=to, template="outbox_test", context={"name": name, "link": LINK}, kind="invitation", org=org)


def test_the_rows_are_those_email_enqueue_writes(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        single = email_enqueue(to=" new.person@example.test ", template="outbox_test",
                               context={"name": "O'Brien", "link": LINK}, kind="invitation", org=org)
        many = email_enqueue_many(drafts=[draft(to=" new.person@example.test ", org=org), draft(org=org, name="Ada")])
    assert len(callbacks) == 2  # one for the single message, one for all the others
    fields = ("org_id", "kind", "template", "recipient", "subject", "body_text", "body_html", "status", "attempts")
    stored = OutboundEmail.objects.get(pk=many[0].pk)
    assert [getattr(stored, name) for name in fields] == [getattr(single, name) for name in fields]
    assert stored.subject == "Welcome to Acme Corp, O'Brien"
    assert "O&#x27;Brien" in stored.body_html
    assert 'href="https://idp.example.test/invitation/tok?a=1&amp;b=2"' in stored.body_html
    assert many[1].subject == "Welcome to Acme Corp, Ada"
    assert len({single.message_id, *(email.message_id for email in many)}) == 3
    assert OutboundEmail.objects.filter(status=Status.PENDING, dispatched_at__isnull=False).count() == 3


def test_every_row_is_delivered_after_the_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        emails = email_enqueue_many(drafts=[draft(to=f"p{i}@example.test") for i in range(3)])
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {Status.SENT}
    assert sorted(m.to[0] for m in mail.outbox) == ["p0@example.test", "p1@example.test", "p2@example.test"]
    # A redelivered chunk sends nothing twice: each row is claimed on its own.
    assert deliver_emails([email.pk for email in emails]) == {"skipped": 3}
    assert len(mail.outbox) == 3


def test_one_address_mail_cannot_go_to_writes_none_of_them(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(DomainError) as refused:
        email_enqueue_many(drafts=[draft(), draft(to="not an address\nBcc: victim@example.test")])
    assert "is not an email address mail can be sent to" in refused.value.message
    assert not OutboundEmail.objects.exists()
    assert callbacks == []


def test_nothing_to_send_writes_and_schedules_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        assert email_enqueue_many(drafts=[]) == []
    assert callbacks == []


def test_many_rows_go_to_the_broker_in_chunks(monkeypatch):
    monkeypatch.setattr(services, "DISPATCH_CHUNK", 2)
    chunks, singles = [], []
    monkeypatch.setattr(deliver_emails, "delay", chunks.append)
    monkeypatch.setattr(deliver_email, "delay", singles.append)
    assert email_dispatch([1, 2, 3, 4, 5]) == 5
    assert chunks == [[1, 2], [3, 4]]
    assert singles == [5]  # a lone row goes as before, one task for one row


def test_a_broker_down_half_way_leaves_the_rest_for_the_sweeper(monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(services, "DISPATCH_CHUNK", 2)
    handed = []

    def second_call_fails(ids):
        if handed:
            raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")
        handed.append(ids)

    monkeypatch.setattr(deliver_emails, "delay", second_call_fails)
    with django_capture_on_commit_callbacks(execute=True):
        emails = email_enqueue_many(drafts=[draft(to=f"p{i}@example.test") for i in range(4)])
    ids = [email.pk for email in emails]
    assert handed == [ids[:2]]
    undispatched = OutboundEmail.objects.filter(dispatched_at__isnull=True, status=Status.PENDING)
    assert sorted(undispatched.values_list("pk", flat=True)) == ids[2:]
    monkeypatch.undo()
    assert services.outbox_sweep()["dispatched"] == 2
    assert OutboundEmail.objects.filter(status=Status.SENT).count() == 2
