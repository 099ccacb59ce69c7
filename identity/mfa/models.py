"""Authenticator apps (TOTP) and recovery codes, as django-otp devices whose secrets are never stored in clear.

django-otp's own TOTPDevice and StaticDevice keep the TOTP key and the static tokens in plaintext, so
these are Gatehouse's own models on django-otp's `Device` (user, name, confirmed) with its
`ThrottlingMixin` and its `TOTP` maths: the TOTP key is encrypted with GATEHOUSE_ENCRYPTION_KEYS
(config/encryption.py) and each recovery code is stored as a salted SHA-256.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import datetime

from django.db import models
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from config.encryption import decrypt, encrypt

# RFC 4226 recommends 160-bit keys; every common authenticator app reads SHA-1, 6 digits, 30 s.
TOTP_KEY_BYTES = 20
# django-otp doubles its delay after each failure without a practical cap (100 years), which would let
# someone who knows the password lock the owner out for good. The shared throttle (services.py) is the
# real limit; this keeps django-otp's own back-off at most 2**(6-1) = 32 seconds.
TOTP_MAX_FAILURE_COUNT = 6


class TotpDevice(TimestampMixin, ThrottlingMixin, Device):
    """An authenticator app. Unconfirmed while enrolment waits for its first code (one per user)."""

    encrypted_key: models.TextField[str, str] = models.TextField()
    step: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField(default=30)
    digits: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField(default=6)
    # Steps of clock difference accepted either way: django-otp's default of one (the code before and after).
    tolerance: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField(default=1)
    drift: models.SmallIntegerField[int, int] = models.SmallIntegerField(default=0)
    # The time step of the last accepted code: only a later step is accepted (no replay).
    last_t: models.BigIntegerField[int, int] = models.BigIntegerField(default=-1)
    created_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(default=timezone.now)

    class Meta(Device.Meta):
        verbose_name = "authenticator app"

    @classmethod
    def with_new_key(cls, *, user, name: str) -> TotpDevice:
        return cls(user=user, name=name, confirmed=False, encrypted_key=encrypt(secrets.token_hex(TOTP_KEY_BYTES)))

    @property
    def bin_key(self) -> bytes:
        return bytes.fromhex(decrypt(self.encrypted_key))

    def get_throttle_factor(self) -> int:
        return 1

    def throttle_increment(self, commit=True):
        super().throttle_increment(commit=False)
        self.throttling_failure_count = min(self.throttling_failure_count, TOTP_MAX_FAILURE_COUNT)
        if commit:
            self.save(update_fields=["throttling_failure_timestamp", "throttling_failure_count"])

    def verify_token(self, token) -> bool:
        """django-otp's TOTPDevice.verify_token on the decrypted key: a code of this step or a
        neighbouring one (drift remembered), never one at or before the last accepted step."""
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        token = str(token).strip()
        if not (token.isascii() and token.isdigit() and len(token) == self.digits):
            self.throttle_increment()
            return False
        totp = TOTP(self.bin_key, self.step, 0, self.digits, self.drift)
        totp.time = time.time()
        if totp.verify(int(token), self.tolerance, self.last_t + 1):
            self.last_t = totp.t()
            self.drift = totp.drift
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save(update_fields=["last_t", "drift", "throttling_failure_timestamp", "throttling_failure_count",
                                     "last_used_at"])
            return True
        self.throttle_increment()
        return False


# Recovery codes: 12 characters from an alphabet without look-alikes (no 0/O, 1/I/L), 60 bits each,
# shown as xxxx-xxxx-xxxx. A leaked table would need ~2**60 SHA-256 per code to reverse.
RECOVERY_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
RECOVERY_CODE_LENGTH = 12
RECOVERY_CODE_COUNT = 10


def recovery_code_normalize(code: str) -> str:
    """What a person typed, as stored: letter case, spaces and dashes do not matter."""
    return "".join(ch for ch in str(code).upper() if ch not in " -\t")


def recovery_code_new() -> str:
    raw = "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
    return "-".join(raw[i:i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4))


class RecoveryCodeSet(TimestampMixin, Device):
    """A user's current set of recovery codes (one set per user; regenerating replaces it)."""

    salt: models.CharField[str, str] = models.CharField(max_length=64, default=secrets.token_hex)  # 32 bytes, hex
    created_at: models.DateTimeField[datetime, datetime] = models.DateTimeField(default=timezone.now)

    class Meta(Device.Meta):
        verbose_name = "recovery code set"

    def code_hash(self, code: str) -> str:
        return hashlib.sha256(f"{self.salt}:{recovery_code_normalize(code)}".encode()).hexdigest()

    def verify_token(self, token) -> bool:
        """Use up one unused code of this set; False for anything else (used, unknown, malformed)."""
        normalized = recovery_code_normalize(token)
        if len(normalized) != RECOVERY_CODE_LENGTH or not set(normalized) <= set(RECOVERY_CODE_ALPHABET):
            return False
        # A conditional UPDATE: of two requests racing with the same code, one wins.
        used = self.codes.filter(code_hash=self.code_hash(normalized), used_at__isnull=True).update(
            used_at=timezone.now())
        if used:
            self.set_last_used_timestamp(commit=True)
        return bool(used)


class RecoveryCode(models.Model):
    code_set = models.ForeignKey(RecoveryCodeSet, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["code_set", "code_hash"], name="recovery_code_unique_in_set")]

    def __str__(self) -> str:
        return f"recovery code of {self.code_set.user}"
