"""Counters that every process shares: throttle windows and per-email sign-in lockout state.

Neither table holds a raw email or IP address: keys are keyed hashes (see security/keys.py).
"""

from django.db import models


class ThrottleCounter(models.Model):
    """Hits for one key in one fixed window. Incremented with an UPDATE ... count + 1, so two
    processes counting at once never lose a hit."""

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
    """Sign-in failures and lockout state for one email address, known to us or not.

    `attempts` counts attempts in the current window, each counted *before* its password is
    checked (and forgiven when it succeeds), so parallel requests cannot test more passwords than
    the limit allows. `level` is how many lockouts happened in a row; it sets the next lock's length.
    """

    key = models.CharField(max_length=64, unique=True)
    attempts = models.PositiveIntegerField(default=0)
    window_started_at = models.DateTimeField(null=True, blank=True)
    level = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key[:12]}… level {self.level}"
