"""AuditEvent: who did what to what, from where — written in the same transaction as the change."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from orgs.models import Organization, OrgScopedQuerySet


class AuditEventQuerySet(OrgScopedQuerySet):
    def update(self, **kwargs):
        raise TypeError("Audit events are append-only.")


class AuditEvent(models.Model):
    """One recorded action. Append-only: saving an existing row or bulk-updating raises.

    `actor_label` and `target_label` keep a readable name after the row they point at is gone.
    """

    org = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=254, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    # Raw proxy headers as received, beside the IP we decided to believe.
    forwarded_for = models.CharField(max_length=500, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["org", "-created_at"], name="audit_org_time"),
            # The console's action filter: one org's events of one action, already newest first, so a
            # page of a rare action (say `password_policy.updated`) need not walk the whole org's log.
            models.Index(fields=["org", "action", "-created_at"], name="audit_org_action_time"),
            # The IP and target-id filters. The actor and target-label prefix filters have
            # PostgreSQL-only UPPER(...) text_pattern_ops indexes, made in migration 0004.
            models.Index(fields=["org", "ip", "-created_at"], name="audit_org_ip_time"),
            models.Index(fields=["org", "target_id", "-created_at"], name="audit_org_target_time"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_label or '-'} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("Audit events are append-only.")
        super().save(*args, **kwargs)
