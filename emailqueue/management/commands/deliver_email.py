"""Send outbox mail now, in this process: one message by id, or every message that is due."""

from django.core.management.base import BaseCommand, CommandError

from emailqueue.models import OutboundEmail
from emailqueue.selectors import email_due_ids
from emailqueue.services import email_deliver, outbox_reclaim_stuck, outbox_sweep


class Command(BaseCommand):
    help = (
        "Deliver outbox mail synchronously, without a worker. --id N sends that message now, even if its "
        "next retry is not due yet; --due sends every pending message and every failed one whose retry is "
        "due, oldest first (after taking back rows a dead worker left in `sending`); --sweep runs the periodic "
        "sweeper once (hands due rows to the workers)."
    )

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--id", type=int, dest="email_id", help="the OutboundEmail id to send now")
        group.add_argument("--due", action="store_true", help="send every message that is due")
        group.add_argument("--sweep", action="store_true", help="run the outbox sweeper once")
        parser.add_argument("--limit", type=int, default=1000, help="with --due: at most this many (1000)")

    def handle(self, *args, email_id=None, due=False, sweep=False, limit=1000, **options):
        if sweep:
            result = outbox_sweep()
            self.stdout.write(", ".join(f"{key}: {value}" for key, value in result.items()))
            return
        if email_id is not None:
            self._deliver_one(email_id)
            return
        self._deliver_due(limit)

    def _deliver_one(self, email_id: int) -> None:
        email = OutboundEmail.objects.filter(pk=email_id).first()
        if email is None:
            raise CommandError(f"No outbox message with id {email_id}.")
        if not email.is_waiting:
            hint = " Requeue it first (console, email queue)." if email.status in ("dead", "cancelled") else ""
            raise CommandError(f"Message {email_id} is {email.status}; only pending or failed mail is sent.{hint}")
        status = email_deliver(email_id=email_id, force=True)
        email.refresh_from_db()
        if status is None:
            raise CommandError(f"Message {email_id} was taken by a worker meanwhile (now {email.status}).")
        if status != OutboundEmail.Status.SENT:
            raise CommandError(f"Message {email_id} to {email.recipient}: {status}. {email.last_error}")
        self.stdout.write(self.style.SUCCESS(f"Sent message {email_id} to {email.recipient}."))

    def _deliver_due(self, limit: int) -> None:
        reclaimed = outbox_reclaim_stuck()
        if any(reclaimed.values()):
            self.stdout.write(f"Taken back from a stopped worker: {reclaimed['stuck_retried']} to retry, "
                              f"{reclaimed['stuck_dead']} dead (last attempt).")
        counts: dict[str, int] = {}
        for email_id in email_due_ids(limit=limit):
            status = email_deliver(email_id=email_id) or "skipped (taken by a worker)"
            counts[status] = counts.get(status, 0) + 1
        if not counts:
            self.stdout.write("Nothing is due.")
            return
        self.stdout.write(", ".join(f"{status}: {n}" for status, n in sorted(counts.items())))
        if counts.get(OutboundEmail.Status.FAILED) or counts.get(OutboundEmail.Status.DEAD):
            raise CommandError("Some messages were not sent; see the email queue for their errors.")
