"""Delivery to a real SMTP server (aiosmtpd on loopback): sent, failed and retried, dead, requeued, never twice."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import close_old_connections
from django.utils import timezone

from emailqueue.models import OutboundEmail
from emailqueue.services import email_deliver, email_enqueue, email_requeue, outbox_sweep
from emailqueue.tests.factories import OutboundEmailFactory
from emailqueue.tests.smtp_sink import SmtpSink

Status = OutboundEmail.Status


def enqueue(org=None, to="ada@example.test"):
    return email_enqueue(to=to, template="outbox_test", kind="invitation", org=org,
                         context={"name": "Ada", "link": "https://idp.example.test/invitation/tok"})


@pytest.mark.django_db
def test_sent_to_the_smtp_server(org, smtp_settings, smtp_sink, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        email = enqueue(org=org)
    email.refresh_from_db()
    assert email.status == Status.SENT
    assert email.attempts == 1
    assert email.last_error == ""
    (received,) = smtp_sink.received
    assert received.rcpt_tos == ["ada@example.test"]
    assert received.message_id == email.message_id
    assert received.message["Subject"] == "Welcome to Acme Corp, Ada"
    assert received.message["Auto-Submitted"] == "auto-generated"
    text = received.message.get_body(("plain",)).get_content()
    html = received.message.get_body(("html",)).get_content()
    assert "https://idp.example.test/invitation/tok" in text
    assert 'href="https://idp.example.test/invitation/tok"' in html


@pytest.mark.django_db
def test_smtp_down_failed_retried_dead_then_requeued_and_sent(
    org, org_admin, smtp_down, advance_clock, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        email = enqueue(org=org)
    email.refresh_from_db()
    assert email.status == Status.FAILED
    assert email.attempts == 1
    assert "ConnectionRefusedError" in email.last_error
    first_retry_in = (email.next_attempt_at - email.updated_at).total_seconds()
    assert 15 <= first_retry_in <= 30

    # Not due yet: the sweeper leaves it alone.
    assert outbox_sweep()["due"] == 0
    # Each time its retry is due, the sweeper (the one retrier) sends it again; it fails again.
    waits = [first_retry_in]
    for attempt in range(2, 9):
        advance_clock(3600)
        with django_capture_on_commit_callbacks(execute=True):
            assert outbox_sweep()["dispatched"] == 1
        email.refresh_from_db()
        assert email.attempts == attempt
        if attempt < 8:
            assert email.status == Status.FAILED
            waits.append((email.next_attempt_at - email.updated_at).total_seconds())
    assert email.status == Status.DEAD
    assert "ConnectionRefusedError" in email.last_error
    # Exponential: each wait is within [½, 1] × 30 s × 2^(n-1).
    for n, wait in enumerate(waits, start=1):
        assert 30 * 2 ** (n - 1) / 2 - 1 <= wait <= 30 * 2 ** (n - 1) + 1, (n, wait)
    # Dead is final: the sweeper no longer touches it.
    advance_clock(24 * 3600)
    assert outbox_sweep()["due"] == 0

    # SMTP comes back; an admin requeues the message; it is sent exactly once.
    sink = SmtpSink().start()
    try:
        smtp_down(sink)
        with django_capture_on_commit_callbacks(execute=True):
            email_requeue(email=email, actor=org_admin)
        email.refresh_from_db()
        assert email.status == Status.SENT
        assert email.attempts == 1
        assert sink.message_ids() == {email.message_id: 1}
    finally:
        sink.stop()


@pytest.mark.django_db
def test_a_recipient_refused_for_good_is_dead_at_once(smtp_settings, smtp_sink, django_capture_on_commit_callbacks):
    smtp_sink.refuse.add("nobody@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        email = enqueue(to="nobody@example.test")
    email.refresh_from_db()
    assert email.status == Status.DEAD
    assert email.attempts == 1
    assert "550" in email.last_error
    assert "nobody@example.test" in email.last_error
    assert smtp_sink.received == []


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_deliveries_of_one_row_send_it_once(smtp_settings, smtp_sink):
    email = OutboundEmailFactory(status=Status.PENDING)
    smtp_sink.gate.clear()  # the first sender is held at the server: its send is "in flight"
    start = threading.Barrier(2)
    results: dict[str, str | None] = {}

    def deliver(name: str) -> None:
        try:
            start.wait(timeout=10)
            results[name] = email_deliver(email_id=email.pk)
        finally:
            close_old_connections()

    threads = {name: threading.Thread(target=deliver, args=(name,)) for name in ("a", "b")}
    for thread in threads.values():
        thread.start()
    # One thread loses the claim and returns while the other is still sending.
    for _ in range(500):
        if results:
            break
        threading.Event().wait(0.01)
    assert list(results.values()) == [None]
    smtp_sink.gate.set()
    for thread in threads.values():
        thread.join(timeout=20)
    assert sorted(results.values(), key=str) == [None, Status.SENT]
    email.refresh_from_db()
    assert (email.status, email.attempts) == (Status.SENT, 1)
    assert smtp_sink.message_ids() == {email.message_id: 1}
    assert smtp_sink.duplicates() == 0


@pytest.mark.django_db
def test_deliver_email_command(smtp_settings, smtp_sink):
    next_year = timezone.now() + timedelta(days=365)
    failed = OutboundEmailFactory(status=Status.FAILED, attempts=2, next_attempt_at=next_year)
    pending = [OutboundEmailFactory(status=Status.PENDING) for _ in range(3)]
    abandoned = OutboundEmailFactory(status=Status.SENDING, attempts=1,
                                     claimed_at=timezone.now() - timedelta(minutes=10))
    dead = OutboundEmailFactory(status=Status.DEAD, attempts=8)

    # Pending ones and the one a dead worker left in `sending`; the failed one is not due for a year.
    out = StringIO()
    call_command("deliver_email", "--due", stdout=out)
    assert "1 to retry" in out.getvalue()
    assert smtp_sink.message_ids() == {row.message_id: 1 for row in [*pending, abandoned]}
    failed.refresh_from_db()
    assert failed.status == Status.FAILED

    call_command("deliver_email", "--id", str(failed.pk))  # an operator sends it now anyway
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Status.SENT, 3)

    with pytest.raises(CommandError, match="dead"):
        call_command("deliver_email", "--id", str(dead.pk))
    with pytest.raises(CommandError, match="No outbox message"):
        call_command("deliver_email", "--id", "999999")
    assert len(smtp_sink.received) == 5

    out = StringIO()
    call_command("deliver_email", "--sweep", stdout=out)
    assert "dispatched: 0" in out.getvalue()
