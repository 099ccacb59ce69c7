"""Webhook endpoints of an organization, and the outbox of deliveries to them (with each attempt)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from config.outbox import OutboxFields
from orgs.models import Organization, OrgScopedQuerySet


class WebhookEndpointQuerySet(OrgScopedQuerySet):
    def active(self):
        return self.filter(is_active=True)


class WebhookEndpoint(models.Model):
    """A URL an organization wants its events POSTed to, signed per the Standard Webhooks specification.

    `events` lists the event types (audit actions marked webhook-visible in audit/events.py) it gets. The
    signing secret (`whsec_…`) is stored encrypted (config/encryption.py) and shown once, when created.
    """

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list)
    secret_encrypted = models.TextField()
    # After a new secret is made, the old one also signs each request until this time (Standard Webhooks
    # allows several signatures in one header), so the receiver can switch without refusing anything.
    previous_secret_encrypted = models.TextField(blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = WebhookEndpointQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["org", "is_active"], name="webhook_endpoint_org_active")]

    def __str__(self) -> str:
        return self.description or self.url


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


class WebhookDelivery(OutboxFields):
    """One event for one endpoint: the outbox row (pending → sending → sent; failed → dead; requeue).

    The body is fixed when the row is written, and so is `message_id` (the `webhook-id` header), so every
    attempt carries the same id and a receiver can drop duplicates; each attempt is signed afresh with
    its own `webhook-timestamp`.
    """

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    message_id = models.CharField(max_length=64, unique=True, default=new_message_id)
    event_type = models.CharField(max_length=64)
    # The audit event it reports (not a foreign key: the retention purge may remove the event first).
    audit_event_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField()
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["endpoint", "-id"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One POST of a delivery: when, how long, the response code (None: no response) and any error."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    attempted_at = models.DateTimeField(default=timezone.now)
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-attempted_at", "-id"]

    def __str__(self) -> str:
        return f"attempt of {self.delivery_id}: {self.status_code or self.error[:40]}"
