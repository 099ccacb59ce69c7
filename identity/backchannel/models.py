"""BackchannelLogout: one outbox row per (application, session) whose end an app must be told about."""

from django.conf import settings
from django.db import models

from config.outbox import OutboxFields
from orgs.models import OrgScopedQuerySet


class BackchannelLogoutQuerySet(OrgScopedQuerySet):
    pass


class BackchannelLogout(OutboxFields):
    """A logout token to POST to one app's backchannel_logout_uri for one ended session.

    pending → sending → sent; or failed (retried with backoff) → dead (gave up; an admin can requeue).
    The token itself is minted at each attempt (identity/backchannel/token.py), so a retry hours later
    still carries an unexpired token signed by the key in force.
    """

    org = models.ForeignKey("orgs.Organization", on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey(settings.OAUTH2_PROVIDER_APPLICATION_MODEL, on_delete=models.CASCADE,
                                    related_name="backchannel_logouts")
    # Kept for the console; the token's sub is `subject`, which outlives a deleted account.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    subject = models.CharField(max_length=64)
    sid = models.CharField(max_length=64)
    # What ended the session for this app: logout, expired, revoked, user.disabled, membership.suspended, …
    reason = models.CharField(max_length=32)

    objects = BackchannelLogoutQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # One waiting row per (application, session): two changes ending the same session at once
            # send one token. A sent or dead row does not block a later one (a reactivated member may
            # use the app again in that session).
            models.UniqueConstraint(fields=["application", "sid"],
                                    condition=models.Q(status__in=["pending", "sending", "failed"]),
                                    name="backchannel_logout_one_waiting"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="backchannel_status_due"),
            models.Index(fields=["application", "-id"], name="backchannel_app_recent"),
        ]

    def __str__(self) -> str:
        return f"logout of {self.sid[:8]}… to {self.application_id} ({self.status})"
