"""Passkeys (WebAuthn credentials) and the random WebAuthn user handle each account presents."""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def new_user_handle() -> str:
    # 32 random bytes, base64url: the WebAuthn user.id. Never the pk or the email, so an authenticator
    # that lists its accounts reveals nothing about ours.
    return secrets.token_urlsafe(32)


class PasskeyUser(models.Model):
    """The WebAuthn user handle of an account: created with its first passkey, the same for all of them
    (an authenticator then replaces its old passkey for this account instead of adding a second one)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkey_user")
    handle = models.CharField(max_length=64, unique=True, default=new_user_handle)

    def __str__(self) -> str:
        return f"WebAuthn handle of {self.user}"


class Passkey(models.Model):
    """One registered WebAuthn credential. `credential_id` is its base64url id (unique across accounts:
    the same authenticator credential can never be registered twice)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkeys")
    name = models.CharField(max_length=100)  # ceremonies.NAME_MAX_LENGTH
    # WebAuthn allows ids up to 1023 bytes: 1364 base64url characters.
    credential_id = models.CharField(max_length=1400, unique=True)
    public_key = models.BinaryField()
    sign_count = models.PositiveBigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    aaguid = models.CharField(max_length=36, blank=True)
    # Backup eligible: the provider may sync it (e.g. a password manager, iCloud Keychain); backed up:
    # it is synced now. Eligible passkeys count as `swk` in amr, the others as `hwk`.
    backup_eligible = models.BooleanField(default=False)
    backed_up = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def synced(self) -> bool:
        return self.backup_eligible

    @property
    def amr(self) -> str:
        """RFC 8176: `swk` for a key that may leave the device (synced), `hwk` for a device-bound one."""
        return "swk" if self.backup_eligible else "hwk"
