"""UserSession: one row per signed-in browser session."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def new_sid() -> str:
    return secrets.token_urlsafe(32)


class UserSessionQuerySet(models.QuerySet):
    def live(self):
        return self.filter(ended_at__isnull=True)


class UserSession(models.Model):
    """A signed-in session: device, address and times, plus the OIDC `sid`.

    The sid is random and never the session key, so it can appear in ID tokens and logout requests
    without letting anyone take over the session.
    """

    class EndReason(models.TextChoices):
        LOGOUT = "logout", "Signed out"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sessions")
    sid = models.CharField(max_length=64, unique=True, default=new_sid)
    user_agent = models.CharField(max_length=500, blank=True)
    device = models.CharField(max_length=120, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    amr = models.JSONField(default=list)
    auth_time = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)

    objects = UserSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-last_seen_at"]
        indexes = [models.Index(fields=["user", "ended_at"], name="usersession_user_live")]

    def __str__(self) -> str:
        return f"{self.user} on {self.device or 'unknown device'}"

    @property
    def is_live(self) -> bool:
        return self.ended_at is None and self.expires_at > timezone.now()
