"""What one-way user sync remembers per application: the last state each user was sent in.

An application's sync feed (/api/v1/app/users) is this table read in `seq` order: one row per user ever
assigned to the app, moved to a new `seq` whenever what the app sees of the user changes (or the user is
unassigned: a tombstone). A client keeps the last `seq` it read (inside its cursor) and resumes there.
"""

from django.db import models
from django.utils import timezone

from applications.models import Application


class AppSyncState(models.Model):
    """Per application: the highest `seq` handed out, and when the feed was last brought up to date."""

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="+")
    last_seq = models.BigIntegerField(default=0)
    reconciled_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"sync state of {self.application_id} at {self.last_seq}"


class AppSyncEntry(models.Model):
    """One user as the application last saw them (assigned) or their tombstone (not assigned)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="+")
    # The OIDC subject (User.public_id), not a foreign key: a tombstone outlives a deleted account.
    sub = models.UUIDField()
    seq = models.BigIntegerField()
    assigned = models.BooleanField(default=True)
    # SHA-256 of the mapped fields as sent; empty for a tombstone.
    sync_hash = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["application", "sub"], name="app_sync_entry_unique")]
        indexes = [models.Index(fields=["application", "seq"], name="app_sync_entry_feed")]

    def __str__(self) -> str:
        return f"{self.sub} in {self.application_id} at {self.seq}"
