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


class SigningKeyQuerySet(models.QuerySet):
    def published(self, *, now=None):
        """Keys a relying party may see in JWKS: next, active, and retired ones still verifying."""
        now = now or timezone.now()
        return self.filter(
            models.Q(state__in=[SigningKey.State.NEXT, SigningKey.State.ACTIVE])
            | models.Q(state=SigningKey.State.RETIRED, verify_until__gt=now)
        )


class SigningKey(models.Model):
    """An RS256 key that signs ID tokens, with its lifecycle next → active → retired.

    The private key is a PKCS#8 PEM encrypted with GATEHOUSE_ENCRYPTION_KEYS; only the public JWK is
    stored in the clear. `kid` is the RFC 7638 thumbprint, the value DOT writes into ID token headers.
    At most one key is active and at most one is next (partial unique constraints), which is what keeps
    two processes starting at once, or two rotations, from both winning.
    """

    class State(models.TextChoices):
        NEXT = "next", "Next"
        ACTIVE = "active", "Active"
        RETIRED = "retired", "Retired"

    kid = models.CharField(max_length=64, unique=True)
    algorithm = models.CharField(max_length=8, default="RS256")
    private_key_encrypted = models.TextField()
    public_jwk = models.JSONField()
    state = models.CharField(max_length=8, choices=State.choices, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    # Retired keys stay in JWKS until every token they signed has expired.
    verify_until = models.DateTimeField(null=True, blank=True)

    objects = SigningKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["state"], condition=models.Q(state="active"), name="signingkey_one_active"
            ),
            models.UniqueConstraint(fields=["state"], condition=models.Q(state="next"), name="signingkey_one_next"),
        ]

    def __str__(self) -> str:
        return f"{self.kid} ({self.state})"
