"""Session engines (SESSION_ENGINE: config.sessions.db or .cached_db): Django's, without the query that checks
that a new session key is free, and without the read before a delete.

Django draws a key and asks the store whether it exists before saving the new session with
must_create=True. That save refuses a key already taken (the primary key; CreateError makes create() draw
another), and a clash among 32 characters of 36 (~165 bits) does not happen, so the check costs a database
and a cache round trip at every sign-in for nothing. The TOTP step makes two sessions per sign-in (the
pending flow's, then the signed-in one), which is why it shows in issue #11's figure.

Django's database store deletes a session (at every sign-in, whose new key replaces the old, and at every
sign-out) by reading its row and then deleting that instance: two statements where one DELETE says the same,
a row already gone included.
"""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.utils.crypto import get_random_string


class FreshKeyMixin:
    """Draws a session key without asking the store whether it is taken (see above)."""

    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)


class DeleteByKeyMixin:
    """Deletes a session's row with one DELETE; the database store's own delete() reads it first (see above).
    A cache-backed store empties its cache entry too, after the row, as Django's cached_db store does."""

    def delete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self.model.objects.filter(session_key=session_key).delete()
        cache = getattr(self, "_cache", None)
        if cache is not None:
            cache.delete(self.cache_key_prefix + session_key)
