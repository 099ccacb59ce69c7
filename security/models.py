"""Shared counter rows (the database backend of security/counters.py) and per-email sign-in locks.

Neither table holds a raw email or IP address: keys are keyed hashes (see security/keys.py).
"""

from django.db import models


class ThrottleCounter(models.Model):
    """Hits for one key in one fixed window, when counters live in the database (always on the
    embedded default; with Redis, only while it is unreachable). Incremented with an UPDATE ...
    count + 1, so two processes counting at once never lose a hit."""

    key = models.CharField(max_length=64)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)
    # When the row stops mattering; the prune task deletes rows past it.
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="throttle_key_window_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.key[:12]}… @ {self.window_start:%Y-%m-%d %H:%M:%S}: {self.count}"


class SignInLock(models.Model):
    """The sign-in lock of one email address, known to us or not: read by every attempt, written
    when a lock is set or lifted or a success forgets failures, shown in the console.

    The attempts themselves are counted on the shared counters (security/services.py), one count per
    `generation`: setting, lifting or forgetting moves to a new generation, so the counted attempts
    are left behind in one step of this row, never by clearing a counter that a parallel attempt
    may be adding to. `level` is how many lockouts happened in a row; it sets the next lock's length.
    `attempts` and `window_started_at` held the count before it moved; nothing reads them now
    (unlocking still zeroes them) and a later migration drops them.
    """

    key = models.CharField(max_length=64, unique=True)
    attempts = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField(null=True, blank=True)
    level = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(db_index=True)
    generation = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.key[:12]}… level {self.level}"
