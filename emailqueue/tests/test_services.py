"""The outbox services: enqueue in the caller's transaction, the retry policy, the sweeper, requeue, cancel."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from audit.models import AuditEvent
from config.exceptions import DomainError, NotAllowed
from emailqueue.models import OutboundEmail
from emailqueue.services import (
    delivery_policy,
    email_cancel,
    email_deliver,
    email_enqueue,
    email_requeue,
    outbox_sweep,
    retry_delay,
)
from emailqueue.tasks import deliver_email
from emailqueue.tests.factories import OutboundEmailFactory

pytestmark = pytest.mark.django_db
Status = OutboundEmail.Status


def enqueue(org=None, **overrides):
    kwargs = {
        "to": "new.person@example.test",
        "template": "outbox_test",
        "context": {"name": "Ada", "link": "https://idp.example.test/invitation/tok?a=1&b=2"},
        "kind": "invitation",
        "org": org,
        **overrides,
    }
    return email_enqueue(**kwargs)


def test_enqueue_renders_text_and_html_with_the_org_brand(org, settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        email = enqueue(org=org, context={"name": "O'Brien", "link": "https://idp.example.test/invitation/t?a=1&b=2"})
    email.refresh_from_db()
    assert email.status == Status.PENDING
    assert email.org == org
    assert email.kind == "invitation"
    assert email.template == "outbox_test"
    assert email.subject == "Welcome to Acme Corp, O'Brien"
    # Plain text is not HTML-escaped; the HTML body is.
    assert "O'Brien, join Acme Corp here: https://idp.example.test/invitation/t?a=1&b=2" in email.body_text
    assert f"Help: {settings.GATEHOUSE_ISSUER}/help/" in email.body_text
    assert "— Acme Corp" in email.body_text
    assert 'href="https://idp.example.test/invitation/t?a=1&amp;b=2"' in email.body_html
    assert "O&#x27;Brien" in email.body_html
    assert email.message_id.startswith("<")
    assert email.message_id.endswith("@gatehouse.local>")
    assert email.attempts == 0
    assert len(callbacks) == 1  # delivery is scheduled for after the commit, not run inside it
    assert mail.outbox == []


def test_enqueue_without_org_uses_the_platform_brand_and_html_is_optional(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        email = email_enqueue(to="op@example.test", template="outbox_plain", context={}, kind="notice")
    email.refresh_from_db()
    assert email.org is None
    assert "— Gatehouse" in email.body_text
    assert email.body_html == ""
    assert email.status == Status.SENT
    (sent,) = mail.outbox
    assert sent.alternatives == []


def test_message_ids_are_unique_and_fixed_at_creation(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = enqueue()
        second = enqueue()
    assert first.message_id != second.message_id
    assert [m.extra_headers["Message-ID"] for m in mail.outbox] == [first.message_id, second.message_id]


def test_enqueue_after_commit_delivers_once(org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        email = enqueue(org=org)
    email.refresh_from_db()
    assert email.status == Status.SENT
    assert email.attempts == 1
    assert email.sent_at is not None
    (sent,) = mail.outbox
    assert sent.to == ["new.person@example.test"]
    assert sent.subject == "Welcome to Acme Corp, Ada"
    assert sent.alternatives[0][1] == "text/html"
    # A second task for the same row (a redelivered broker message) does nothing.
    assert deliver_email(email.pk) is None
    assert len(mail.outbox) == 1


def test_enqueue_in_a_rolled_back_transaction_writes_and_sends_nothing(org, django_capture_on_commit_callbacks):
    class ChangeFailed(Exception):
        pass

    def change_that_needs_mail():
        with transaction.atomic():
            enqueue(org=org)
            raise ChangeFailed

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(ChangeFailed):
        change_that_needs_mail()
    assert callbacks == []
    assert not OutboundEmail.objects.exists()
    assert mail.outbox == []


def test_enqueue_refuses_an_address_mail_cannot_go_to():
    with pytest.raises(DomainError):
        enqueue(to="not an address\nBcc: victim@example.test")
    assert not OutboundEmail.objects.exists()


def test_broker_down_at_commit_leaves_the_row_for_the_sweeper(monkeypatch, django_capture_on_commit_callbacks):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to redis:6379. Connection refused.")

    monkeypatch.setattr(deliver_email, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        email = enqueue()
    email.refresh_from_db()
    assert email.status == Status.PENDING
    assert email.dispatched_at is None
    monkeypatch.undo()
    assert outbox_sweep()["dispatched"] == 1  # the next sweep, not minutes later
    email.refresh_from_db()
    assert email.status == Status.SENT


def test_retry_delay_doubles_from_30_seconds_up_to_an_hour_with_jitter():
    policy = delivery_policy()
    assert (policy.max_attempts, policy.retry_base, policy.retry_cap) == (8, 30, 3600)
    for attempts, nominal in [(1, 30), (2, 60), (3, 120), (7, 1920), (8, 3600), (20, 3600)]:
        delays = [retry_delay(attempts, policy).total_seconds() for _ in range(200)]
        assert all(nominal / 2 <= d <= nominal for d in delays), (attempts, min(delays), max(delays))
        assert max(delays) - min(delays) > nominal / 10  # jittered, not fixed


def test_claim_is_refused_for_rows_that_are_not_due_or_not_waiting():
    later = timezone.now() + timedelta(minutes=5)
    rows = {
        "failed not due": OutboundEmailFactory(status=Status.FAILED, next_attempt_at=later, attempts=1),
        "sending": OutboundEmailFactory(status=Status.SENDING, attempts=1),
        "sent": OutboundEmailFactory(status=Status.SENT, attempts=1),
        "dead": OutboundEmailFactory(status=Status.DEAD, attempts=8),
        "cancelled": OutboundEmailFactory(status=Status.CANCELLED),
    }
    for row in rows.values():
        assert email_deliver(email_id=row.pk) is None
    assert mail.outbox == []
    # An operator may force a failed row whose retry is not due yet.
    assert email_deliver(email_id=rows["failed not due"].pk, force=True) == Status.SENT
    assert email_deliver(email_id=rows["dead"].pk, force=True) is None


def test_sweeper_takes_back_rows_stuck_in_sending_and_resends_them(advance_clock):
    stuck = OutboundEmailFactory(status=Status.SENDING, attempts=1, claimed_at=timezone.now())
    recent = OutboundEmailFactory(status=Status.SENDING, attempts=1, claimed_at=timezone.now())
    advance_clock(299)
    assert outbox_sweep()["stuck_retried"] == 0
    advance_clock(2)
    recent.claimed_at = timezone.now()
    recent.save()
    result = outbox_sweep()
    assert result["stuck_retried"] == 1
    stuck.refresh_from_db()
    assert stuck.status == Status.SENT
    assert stuck.attempts == 2
    recent.refresh_from_db()
    assert recent.status == Status.SENDING
    (sent,) = mail.outbox
    assert sent.extra_headers["Message-ID"] == stuck.message_id


def test_a_row_stuck_on_its_last_attempt_is_dead(advance_clock):
    row = OutboundEmailFactory(status=Status.SENDING, attempts=8, claimed_at=timezone.now())
    advance_clock(600)
    assert outbox_sweep()["stuck_dead"] == 1
    row.refresh_from_db()
    assert row.status == Status.DEAD
    assert "interrupted" in row.last_error
    assert mail.outbox == []


def test_sweeper_dispatches_due_failed_rows_once_and_lost_pending_rows_after_a_delay(advance_clock):
    now = timezone.now()
    due = OutboundEmailFactory(status=Status.FAILED, attempts=1, next_attempt_at=now,
                               dispatched_at=now - timedelta(seconds=40))
    not_due = OutboundEmailFactory(status=Status.FAILED, attempts=1, next_attempt_at=now + timedelta(seconds=60),
                                   dispatched_at=now)
    # Pending and handed to the broker just now: its task is on its way, leave it.
    queued = OutboundEmailFactory(status=Status.PENDING, next_attempt_at=now, dispatched_at=now)
    result = outbox_sweep()
    assert result["due"] == 1
    due.refresh_from_db()
    assert due.status == Status.SENT
    not_due.refresh_from_db()
    queued.refresh_from_db()
    assert (not_due.status, queued.status) == (Status.FAILED, Status.PENDING)
    # Five minutes on, the pending row's task looks lost (and the failed one is due): both go.
    advance_clock(301)
    assert outbox_sweep()["due"] == 2
    assert {m.extra_headers["Message-ID"] for m in mail.outbox} == {due.message_id, not_due.message_id,
                                                                     queued.message_id}


def test_sweeper_hands_over_a_due_row_only_once_while_its_task_waits(monkeypatch):
    handed: list[int] = []
    monkeypatch.setattr(deliver_email, "delay", handed.append)  # a broker whose worker is not running
    now = timezone.now()
    row = OutboundEmailFactory(status=Status.FAILED, attempts=1, next_attempt_at=now, dispatched_at=now - timedelta(60))
    for _ in range(3):
        outbox_sweep()
    assert handed == [row.pk]


def test_requeue_a_dead_message_audited(org, org_admin, django_capture_on_commit_callbacks):
    row = OutboundEmailFactory(org=org, status=Status.DEAD, attempts=8, last_error="SMTPServerDisconnected: x")
    with django_capture_on_commit_callbacks(execute=True):
        email_requeue(email=row, actor=org_admin)
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert row.attempts == 1
    event = AuditEvent.objects.get(action="email.requeued")
    assert event.org == org
    assert event.actor == org_admin
    assert event.target_id == str(row.pk)
    assert event.metadata["before"] == {"status": "dead", "attempts": 8, "last_error": "SMTPServerDisconnected: x"}
    assert event.metadata["message_id"] == row.message_id


@pytest.mark.parametrize("status", [Status.PENDING, Status.SENDING, Status.SENT])
def test_requeue_refuses_messages_that_are_not_dead_failed_or_cancelled(org, org_admin, status):
    row = OutboundEmailFactory(org=org, status=status)
    with pytest.raises(NotAllowed):
        email_requeue(email=row, actor=org_admin)
    assert not AuditEvent.objects.filter(action="email.requeued").exists()


@pytest.mark.parametrize("status", [Status.PENDING, Status.FAILED])
def test_cancel_a_waiting_message_audited_and_never_sent(org, org_admin, status):
    row = OutboundEmailFactory(org=org, status=status, next_attempt_at=timezone.now())
    email_cancel(email=row, actor=org_admin, reason="wrong address")
    row.refresh_from_db()
    assert row.status == Status.CANCELLED
    event = AuditEvent.objects.get(action="email.cancelled")
    assert (event.org, event.actor, event.target_id) == (org, org_admin, str(row.pk))
    assert event.metadata["reason"] == "wrong address"
    assert event.metadata["before"] == {"status": status}
    # Its task (already in the broker) and the sweeper leave it alone.
    assert deliver_email(row.pk) is None
    outbox_sweep()
    assert mail.outbox == []


@pytest.mark.parametrize("status", [Status.SENDING, Status.SENT, Status.DEAD, Status.CANCELLED])
def test_cancel_refuses_messages_that_are_not_waiting(org, org_admin, status):
    row = OutboundEmailFactory(org=org, status=status)
    with pytest.raises(NotAllowed):
        email_cancel(email=row, actor=org_admin)
    row.refresh_from_db()
    assert row.status == status


def test_platform_mail_is_audited_without_an_org(operator):
    row = OutboundEmailFactory(org=None, status=Status.FAILED)
    email_cancel(email=row, actor=operator)
    event = AuditEvent.objects.get(action="email.cancelled")
    assert event.org is None
    assert event.actor == operator


def test_the_sweep_task_runs_the_sweeper():
    row = OutboundEmailFactory(status=Status.PENDING, dispatched_at=None)
    from emailqueue.tasks import outbox_sweep as outbox_sweep_task

    assert outbox_sweep_task.delay().get()["dispatched"] == 1
    row.refresh_from_db()
    assert row.status == Status.SENT
