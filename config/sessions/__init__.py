"""Session engines (SESSION_ENGINE: config.sessions.db or .cached_db): Django's, without the query that checks
that a new session key is free.

Django draws a key and asks the store whether it exists before saving the new session with
must_create=True. That save refuses a key already taken (the primary key; CreateError makes create() draw
another), and a clash among 32 characters of 36 (~165 bits) does not happen, so the check costs a database
and a cache round trip at every sign-in for nothing. The TOTP step makes two sessions per sign-in (the
pending flow's, then the signed-in one), which is why it shows in issue #11's figure.
"""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.utils.crypto import get_random_string


class FreshKeyMixin:
    """Draws a session key without asking the store whether it is taken (see above)."""

    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)
