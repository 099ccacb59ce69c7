"""OutboundEmail: the outbox row is the source of truth for mail, not the broker."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orgs.models import Organization, OrgScopedQuerySet


class OutboundEmailQuerySet(OrgScopedQuerySet):
    def platform(self):
        """Mail that belongs to no organization (operator notices and the like)."""
        return self.filter(org__isnull=True)


class OutboundEmail(models.Model):
    """A message written in the same transaction as the change that needs it.

    pending → sending → sent; or failed (retried with backoff) → dead (gave up; can be requeued);
    an operator may cancel a message that is still waiting (pending or failed) → cancelled.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        DEAD = "dead", _("Dead")
        CANCELLED = "cancelled", _("Cancelled")

    org = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="outbound_emails"
    )
    kind = models.CharField(max_length=64, blank=True)
    template = models.CharField(max_length=100, blank=True)
    recipient = models.EmailField(max_length=254)
    subject = models.CharField(max_length=300)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    # Fixed when the row is written, so every attempt carries the same one and a receiver (or a
    # benchmark) can count duplicates.
    message_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    # When a task last claimed the row (status → sending); a row still sending long after this
    # was abandoned by a worker that died, and the sweeper takes it back.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # When a delivery task was last handed to the broker, so the sweeper re-dispatches a row only
    # when that task is due or looks lost, not every minute while a backlog drains.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    objects = OutboundEmailQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_status_due"),
            models.Index(fields=["org", "status", "-id"], name="outbox_org_status"),
        ]

    def __str__(self) -> str:
        return f"{self.recipient}: {self.subject} ({self.status})"

    @property
    def is_waiting(self) -> bool:
        """Still to be sent: a worker will pick it up (or retry it) without anyone's help."""
        return self.status in (self.Status.PENDING, self.Status.FAILED)
