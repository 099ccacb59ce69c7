"""UserSession: one row per signed-in browser session; OneTimeToken: single-use links."""

import hashlib
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
    # The Django session this row signs in, so ending the row can delete it (Django's session table is not
    # indexed by user). The same value is the session table's primary key and the Redis cache key already;
    # it is never shown or logged. Kept current by UserSessionMiddleware when the key is cycled.
    session_key = models.CharField(max_length=40, blank=True, editable=False)
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


def token_hash(raw: str) -> str:
    """SHA-256 suffices (no slow hash): the value is 256 random bits, not something a person chose."""
    return hashlib.sha256(raw.encode()).hexdigest()


class OneTimeTokenQuerySet(models.QuerySet):
    def by_value(self, raw: str):
        """The token whose secret is `raw`: looked up by its hash, the only form ever stored."""
        return self.filter(token_hash=token_hash(raw))

    def for_purpose(self, purpose: str):
        return self.filter(purpose=purpose)

    def live(self, *, now=None):
        """Neither used, nor voided by a newer link, nor expired."""
        return self.filter(used_at__isnull=True, voided_at__isnull=True, expires_at__gt=now or timezone.now())


class OneTimeToken(models.Model):
    """A single-use link (invitation, password reset, email change), stored only as a SHA-256 hash.

    The raw value is 256 random bits that exist only in the email; it is used up by the POST that
    completes the action (never by opening the link) and voided when a newer link for the same
    purpose is issued.
    """

    class Purpose(models.TextChoices):
        INVITATION = "invitation", "Invitation"
        PASSWORD_RESET = "password_reset", "Password reset"
        EMAIL_CHANGE = "email_change", "Email change"
        EMAIL_VERIFICATION = "email_verification", "Email verification"

    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="one_time_tokens")
    # Invitations: the membership the link accepts. Deleting the membership (removing the invite) kills the link.
    membership = models.ForeignKey("orgs.Membership", null=True, blank=True, on_delete=models.CASCADE,
                                   related_name="invitation_tokens")
    # Email changes: the new address the link confirms.
    email = models.EmailField(max_length=254, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    objects = OneTimeTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "purpose"], name="onetimetoken_user_purpose")]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} for {self.user}"


class PasswordPolicy(models.Model):
    """One org's password rules, on top of the platform's (AUTH_PASSWORD_VALIDATORS, always applied).

    An account belongs to several orgs and has one password, so the rules that apply to it are the
    strictest of the orgs it is an active member of (identity.password_policy.effective_policy).
    """

    org = models.OneToOneField("orgs.Organization", on_delete=models.CASCADE, related_name="password_policy")
    min_length = models.PositiveSmallIntegerField(default=12)
    check_common = models.BooleanField(default=True)
    # No reuse of the last N passwords; 0 allows reuse.
    history_count = models.PositiveSmallIntegerField(default=0)
    # A password older than this must be changed at the next sign-in; null: never.
    max_age_days = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Password policy of {self.org}"


class PasswordHistory(models.Model):
    """Hashes of a user's past passwords (as hashed for sign-in), for the no-reuse rule."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="passwordhistory_user_time")]

    def __str__(self) -> str:
        return f"Password of {self.user} set {self.created_at:%Y-%m-%d}"


class PasswordChangeRequired(models.Model):
    """An administrator's "must change password at next sign-in"; removed when the password changes."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="password_change_required")
    org = models.ForeignKey("orgs.Organization", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    required_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.user} must change password"


# Back-channel logout's outbox lives in its own sub-package; imported here so it belongs to this app's models.
from identity.backchannel.models import BackchannelLogout  # noqa: E402, F401
