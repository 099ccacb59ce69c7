"""Password hashers."""

import threading

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.core.signals import setting_changed

_slots: threading.BoundedSemaphore | None = None
_slots_made = threading.Lock()


def password_hash_slots() -> threading.BoundedSemaphore:
    """How many Argon2id hashes this process computes at once (GATEHOUSE_PASSWORD_HASHES_PER_WORKER).

    Each hash walks its own 19 MiB. With a worker a core and two threads a worker, an unbounded server
    runs two hashes a core under load; they evict each other from the cores' caches, and each then costs
    ~12 % more CPU than a lone one (bench/login.py's "loaded" column), for no more sign-ins. One at a time
    a worker keeps every core hashing while the worker's other thread serves the rest of the requests.
    """
    global _slots
    if _slots is None:
        with _slots_made:
            if _slots is None:
                _slots = threading.BoundedSemaphore(settings.GATEHOUSE_PASSWORD_HASHES_PER_WORKER)
    return _slots


def _forget_slots(*, setting: str, **kwargs) -> None:
    global _slots
    if setting == "GATEHOUSE_PASSWORD_HASHES_PER_WORKER":
        _slots = None


setting_changed.connect(_forget_slots, dispatch_uid="gatehouse-password-hash-slots")


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with OWASP's minimum parameters: 19 MiB, 2 iterations, parallelism 1.

    Django's defaults (100 MiB, parallelism 8) cost ~180 ms of CPU per check on a small server,
    which turns sign-in into a denial-of-service lever; these cost ~20 ms and remain OWASP-compliant.
    Hashes made with other parameters are upgraded on the next successful sign-in.

    Hashing and verifying wait for one of the process's hash slots (password_hash_slots). Both do, so an
    unknown email's stand-in hash waits as a real verify does and the answer's timing tells nothing.
    """

    algorithm = "argon2"
    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1

    def encode(self, password, salt):
        with password_hash_slots():
            return super().encode(password, salt)

    def verify(self, password, encoded):
        with password_hash_slots():
            return super().verify(password, encoded)
