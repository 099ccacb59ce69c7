"""Session engines (SESSION_ENGINE: config.sessions.db or .cached_db): Django's, without the query that checks
that a new session key is free, and without the read before a delete.

Django draws a key and asks the store whether it exists before saving the new session with
must_create=True. That save refuses a key already taken (the primary key; CreateError makes create() draw
another), and a clash among 32 characters of 36 (~165 bits) does not happen, so the check costs a database
and a cache round trip at every sign-in for nothing. The TOTP step makes two sessions per sign-in (the
pending flow's, then the signed-in one), which is why it shows in issue #11's figure.

A new session was written twice at every sign-in: login() calls cycle_key(), whose create() INSERTs the new
key at once (inside a savepoint), and the same request then changes the session (the user, the flow it ends),
so SessionMiddleware UPDATEs it at the response. The new key is now only drawn there, and the response's save
INSERTs it: one statement where there were four. Nothing reads a session's row before its cookie has reached
the browser, and that cookie is sent only with this response, after the save.

Django's database store deletes a session (at every sign-in, whose new key replaces the old, and at every
sign-out) by reading its row and then deleting that instance: two statements where one DELETE says the same,
a row already gone included.
"""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError
from django.utils.crypto import get_random_string


class FreshKeyMixin:
    """Draws a session key without asking the store whether it is taken (see above)."""

    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)


class DeferredInsertMixin:
    """Draws a new session's key at once but INSERTs it at the next save, the response's (see above)."""

    _insert_pending = False

    def create(self):
        self._session_key = self._get_new_session_key()
        self._insert_pending = True
        self.modified = True

    def save(self, must_create=False):
        if self.session_key is None:
            self.create()
        if not self._insert_pending:
            return super().save(must_create)
        while True:
            try:
                super().save(must_create=True)
            except CreateError:  # the key is taken (see above: it does not happen; Django's create() retries too)
                self._session_key = self._get_new_session_key()
                continue
            self._insert_pending = False
            return None


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
