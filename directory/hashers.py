"""Password hashers."""

from django.contrib.auth.hashers import Argon2PasswordHasher


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with OWASP's minimum parameters: 19 MiB, 2 iterations, parallelism 1.

    Django's defaults (100 MiB, parallelism 8) cost ~180 ms of CPU per check on a small server,
    which turns sign-in into a denial-of-service lever; these cost ~20 ms and remain OWASP-compliant.
    Hashes made with other parameters are upgraded on the next successful sign-in.
    """

    algorithm = "argon2"
    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1
