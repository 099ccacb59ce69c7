"""Encryption at rest for secrets that must be read back (signing keys, TOTP secrets).

Keys come from GATEHOUSE_ENCRYPTION_KEYS, newest first: new values are encrypted with the first,
and any listed key decrypts, so a key can rotate without a flag day.
"""

from functools import cache

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver


@cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.GATEHOUSE_ENCRYPTION_KEYS])


@receiver(setting_changed)
def _forget_keys(*, setting, **kwargs):
    if setting == "GATEHOUSE_ENCRYPTION_KEYS":
        _fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
