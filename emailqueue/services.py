"""Writes to the outbox: enqueue (in the caller's transaction), deliver, sweep, requeue, cancel.

The row, not the broker, is the source of truth (DESIGN.md). A delivery task claims its row with one
conditional UPDATE, sends, and records the outcome; the periodic sweeper is the one place that
retries: due failed rows, rows stuck in `sending`, and rows whose task the broker seems to have lost.
Those mechanics are the outbox's shared code (config/outbox.py); this module adds what is mail's own.

Retry policy (each a setting, defaults in brackets): after the n-th failed attempt the next one is
due after base × 2^(n−1) seconds, capped, and drawn uniformly from the upper half of that
("equal jitter") — GATEHOUSE_EMAIL_RETRY_BASE_SECONDS [30], GATEHOUSE_EMAIL_RETRY_CAP_SECONDS [3600].
After GATEHOUSE_EMAIL_MAX_ATTEMPTS [8] attempts the row is dead: nominally 30 s, 1, 2, 4, 8, 16 and
32 min between them, about an hour in all (plus up to a minute each until the sweeper runs).
A row still `sending` GATEHOUSE_EMAIL_SENDING_TIMEOUT_SECONDS [300] after its claim is taken back;
a pending row whose task has not run GATEHOUSE_EMAIL_REDISPATCH_SECONDS [300] after it was handed
to the broker is handed over again. SMTP calls time out after EMAIL_TIMEOUT [30] seconds.
GATEHOUSE_EMAIL_QUEUE [the default queue] names the Celery queue delivery tasks go to.

Delivery is at least once: a worker killed after the SMTP server accepted a message but before the
row says `sent` leaves it `sending`, and the sweeper sends it again (same Message-ID, so a receiver
can tell).
"""

import logging
import smtplib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db import transaction
from django.template import Context, TemplateDoesNotExist
from django.template.loader import get_template
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from audit.services import audit_record
from config import outbox
from config.celery import registered_task
from config.exceptions import DomainError, NotAllowed
from emailqueue.models import OutboundEmail

logger = logging.getLogger(__name__)

Status = OutboundEmail.Status
WAITING = (Status.PENDING, Status.FAILED)
REQUEUEABLE = (Status.DEAD, Status.FAILED, Status.CANCELLED)
INTERRUPTED_ERROR = (
    "Delivery was interrupted (the worker stopped while sending); the message may have reached "
    "the recipient already."
)


@dataclass(frozen=True)
class DeliveryPolicy(outbox.RetryPolicy):
    """The outbox's retry policy (config/outbox.py), plus how long an SMTP call may take."""

    smtp_timeout: float


def delivery_policy() -> DeliveryPolicy:
    """The retry knobs, read when used so tests and operators can change them without a restart of this module."""
    return DeliveryPolicy(
        max_attempts=max(1, settings.GATEHOUSE_EMAIL_MAX_ATTEMPTS),
        retry_base=float(settings.GATEHOUSE_EMAIL_RETRY_BASE_SECONDS),
        retry_cap=float(settings.GATEHOUSE_EMAIL_RETRY_CAP_SECONDS),
        sending_timeout=timedelta(seconds=settings.GATEHOUSE_EMAIL_SENDING_TIMEOUT_SECONDS),
        redispatch_after=timedelta(seconds=settings.GATEHOUSE_EMAIL_REDISPATCH_SECONDS),
        smtp_timeout=float(settings.EMAIL_TIMEOUT or 30),
    )


def retry_delay(attempts: int, policy: DeliveryPolicy | None = None) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: exponential, capped, equal jitter."""
    return outbox.retry_delay(attempts, policy or delivery_policy())


# ------------------------------------------------------------------------------------------ enqueue


def _message_id_domain() -> str:
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    domain = address.rpartition("@")[2]
    return domain or urlsplit(settings.GATEHOUSE_ISSUER).hostname or "gatehouse.invalid"


def new_message_id() -> str:
    return f"<{uuid.uuid4().hex}@{_message_id_domain()}>"


def _render(name: str, context: dict, *, autoescape: bool) -> str:
    # Subject and text bodies are plain text: rendered without HTML escaping, so a link with
    # "&" or a name with an apostrophe arrives as written. The HTML body is escaped as usual.
    return get_template(name).template.render(Context(context, autoescape=autoescape))


def email_render(*, template: str, context: dict, org=None) -> tuple[str, str, str]:
    """(subject, text body, html body or "") from templates/email/<template>_{subject,message}.*"""
    full_context = {
        **context,
        "org": org,
        "site_url": settings.GATEHOUSE_ISSUER,
        "brand_name": org.name if org else "Gatehouse",
    }
    subject = _render(f"email/{template}_subject.txt", full_context, autoescape=False)
    subject = " ".join(subject.split())[:300]
    body_text = _render(f"email/{template}_message.txt", full_context, autoescape=False).strip() + "\n"
    try:
        body_html = _render(f"email/{template}_message.html", full_context, autoescape=True)
    except TemplateDoesNotExist:
        body_html = ""
    return subject, body_text, body_html


@dataclass(frozen=True)
class EmailDraft:
    """One message for the outbox, before rendering: what email_enqueue takes, and a list of for email_enqueue_many."""

    to: str
    template: str
    context: dict
    kind: str
    org: Any = None


def _outbox_row(draft: EmailDraft, *, now) -> OutboundEmail:
    """The pending row for `draft`, rendered and not saved; DomainError for an address mail cannot go to."""
    to = draft.to.strip()
    try:
        validate_email(to)
    except ValidationError:
        raise DomainError(f"“{to}” is not an email address mail can be sent to.", field="email") from None
    subject, body_text, body_html = email_render(template=draft.template, context=draft.context, org=draft.org)
    return OutboundEmail(
        org=draft.org, kind=draft.kind[:64], template=draft.template[:100], recipient=to, subject=subject,
        body_text=body_text, body_html=body_html, message_id=new_message_id(),
        status=Status.PENDING, next_attempt_at=now, dispatched_at=now, created_at=now,
    )


def email_enqueue(*, to: str, template: str, context: dict, kind: str, org=None) -> OutboundEmail:
    """Write a pending OutboundEmail and hand it to a worker once the caller's transaction commits.

    Call it inside the transaction of the change that needs the mail: the row commits or rolls back
    with that change, and nothing is sent for a change that did not happen.
    """
    draft = EmailDraft(to=to, template=template, context=context, kind=kind, org=org)
    email = _outbox_row(draft, now=timezone.now())
    email.save(force_insert=True)
    transaction.on_commit(partial(email_dispatch, [email.pk]))
    return email


def email_enqueue_many(*, drafts: Iterable[EmailDraft]) -> list[OutboundEmail]:
    """email_enqueue for many messages: the same rows, written in one INSERT and handed over in one callback.

    Every address is checked before anything is written: one that mail cannot go to raises DomainError
    and writes none of the rows. Call it inside the transaction of the change, as email_enqueue.
    """
    now = timezone.now()
    emails = [_outbox_row(draft, now=now) for draft in drafts]
    if not emails:
        return []
    OutboundEmail.objects.bulk_create(emails, batch_size=1000)
    transaction.on_commit(partial(email_dispatch, [email.pk for email in emails]))
    return emails


# The delivery tasks (emailqueue/tasks.py), handed to the broker by name.
DELIVER_EMAIL = "emailqueue.tasks.deliver_email"
DELIVER_EMAILS = "emailqueue.tasks.deliver_emails"
# Rows per broker message when many are handed over at once (email_enqueue_many, the sweeper): 10,000
# invitations are 100 messages, not 10,000, and a worker still sends each row under its own claim.
DISPATCH_CHUNK = 100


def email_dispatch(email_ids: Iterable[int]) -> int:
    """Hand the rows to the broker: a delivery task per row, or per chunk of rows when there are many.
    Returns how many rows were handed over.

    A broker that is down loses nothing: the rows stay pending, are marked not dispatched, and
    the sweeper hands them over on its next run.
    """
    deliver_email, deliver_emails = registered_task(DELIVER_EMAIL), registered_task(DELIVER_EMAILS)
    email_ids = list(email_ids)
    # GATEHOUSE_EMAIL_QUEUE sends delivery tasks to a queue of their own (workers started with -Q).
    queue = settings.GATEHOUSE_EMAIL_QUEUE
    for start in range(0, len(email_ids), DISPATCH_CHUNK):
        chunk = email_ids[start:start + DISPATCH_CHUNK]
        task, args = (deliver_email, (chunk[0],)) if len(chunk) == 1 else (deliver_emails, (chunk,))
        try:
            if queue:
                task.apply_async(args, queue=queue)
            else:
                task.delay(*args)
        except BrokerError as exc:
            undone = email_ids[start:]
            logger.warning("Broker unavailable, %d email(s) left for the outbox sweeper: %s", len(undone), exc)
            outbox.outbox_undispatched(OutboundEmail, undone)
            return start
    return len(email_ids)


# ----------------------------------------------------------------------------------------- deliver


class PermanentFailure(Exception):
    """The receiving side refused the message for good: retrying cannot help."""


def _send(email: OutboundEmail, policy: DeliveryPolicy) -> None:
    connection = get_connection(timeout=policy.smtp_timeout)
    message = EmailMultiAlternatives(
        subject=email.subject,
        body=email.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[email.recipient],
        headers={"Message-ID": email.message_id, "Auto-Submitted": "auto-generated"},
        connection=connection,
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    try:
        sent = message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            raise PermanentFailure(f"Recipient refused: {_describe(exc)}") from exc
        raise
    except BadHeaderError as exc:
        raise PermanentFailure(f"The message cannot be sent as written: {exc}") from exc
    if not sent:
        raise RuntimeError("The mail backend accepted no message.")


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        text = "; ".join(
            f"{addr}: {code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
            for addr, (code, msg) in exc.recipients.items()
        )
    return f"{type(exc).__name__}: {text}"[:2000]


def email_deliver(*, email_id: int, force: bool = False) -> str | None:
    """Claim the row, send it, record the outcome. Returns the new status, or None if not claimed.

    The claim is one conditional UPDATE (pending, or failed and due → sending, attempts + 1), so two
    tasks for the same row never both send it, and a task for a row already sent, being sent,
    cancelled or dead does nothing. `force` (operators) ignores the backoff of a failed row.
    """
    policy = delivery_policy()
    now = timezone.now()
    if not outbox.outbox_claim(OutboundEmail, email_id, now=now, force=force):
        return None
    email = OutboundEmail.objects.get(pk=email_id)
    try:
        _send(email, policy)
    except PermanentFailure as exc:
        outcome = outbox.outcome_dead(error=str(exc))
    except Exception as exc:  # recorded on the row and logged: the row must say why it failed
        logger.warning("Delivery of email %s failed (attempt %d): %s", email_id, email.attempts, exc,
                       exc_info=not isinstance(exc, OSError))
        outcome = outbox.outcome_failed(attempts=email.attempts, error=_describe(exc), policy=policy,
                                        now=timezone.now())
    else:
        outcome = outbox.outcome_sent(now=timezone.now())
    if not outbox.outbox_record(OutboundEmail, email_id, claimed_at=now, outcome=outcome):
        # The sweeper took the row back while we were sending (we took longer than the timeout).
        logger.warning("Email %s: outcome %s not recorded, the row was taken back meanwhile", email_id,
                       outcome["status"])
        return None
    return outcome["status"]


# ------------------------------------------------------------------------------------------- sweep


def outbox_reclaim_stuck() -> dict[str, int]:
    """Rows still `sending` long after their claim were abandoned by a worker that died: retry them now.

    A row that was on its last attempt is dead instead. The message may have reached the recipient
    before the worker died; a retry sends it again with the same Message-ID (at least once).
    """
    return outbox.outbox_reclaim_stuck(OutboundEmail, policy=delivery_policy(), error=INTERRUPTED_ERROR)


def outbox_sweep(*, batch_size: int = 1000) -> dict[str, int]:
    """The one retrier: take back rows stuck in `sending`, then hand due rows to the broker.

    Due rows are pending ones whose task has not run within the redispatch delay (the broker lost it,
    or was down), and failed ones whose next attempt is due and not yet handed over. Each row is
    handed over at most once per redispatch delay, so a backlog is not multiplied in the broker.
    """
    result = outbox_reclaim_stuck()
    ids = outbox.outbox_take_due(OutboundEmail, policy=delivery_policy(), batch_size=batch_size)
    dispatched = email_dispatch(ids)
    return {**result, "due": len(ids), "dispatched": dispatched}


# ------------------------------------------------------------------------------ operator actions


@transaction.atomic
def email_requeue(*, email: OutboundEmail, actor, request=None) -> OutboundEmail:
    """A dead, failed or cancelled message goes back to pending, due now, with a fresh set of attempts.

    The attempts and error it had are kept in the audit event.
    """
    email = OutboundEmail.objects.select_for_update().get(pk=email.pk)
    if email.status not in REQUEUEABLE:
        raise NotAllowed(
            f"This message is {email.get_status_display().lower()}; only dead, failed or cancelled "
            "messages can be requeued."
        )
    before = {"status": email.status, "attempts": email.attempts, "last_error": email.last_error[:500]}
    email.save(update_fields=outbox.outbox_requeue(email))
    audit_record(action="email.requeued", actor=actor, org=email.org, target=email, request=request,
                 metadata={"before": before, "after": {"status": email.status}, "message_id": email.message_id})
    transaction.on_commit(partial(email_dispatch, [email.pk]))
    return email


@transaction.atomic
def email_cancel(*, email: OutboundEmail, actor, request=None, reason: str = "") -> OutboundEmail:
    """A message still waiting to be sent (pending, or failed with a retry due) is cancelled: never sent.

    A message being sent right now cannot be cancelled (it may already be on its way).
    """
    email = OutboundEmail.objects.select_for_update().get(pk=email.pk)
    if email.status not in WAITING:
        raise NotAllowed(
            f"This message is {email.get_status_display().lower()}; only pending or failed messages "
            "can be cancelled."
        )
    before = email.status
    email.status = Status.CANCELLED
    email.save(update_fields=["status", "updated_at"])
    audit_record(action="email.cancelled", actor=actor, org=email.org, target=email, request=request,
                 metadata={"before": {"status": before}, "after": {"status": email.status},
                           "reason": reason, "message_id": email.message_id})
    return email
