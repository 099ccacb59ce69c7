"""Django's cached database session store, drawing new keys without a query or a cache read
(config/sessions/__init__.py)."""

from django.contrib.sessions.backends import cached_db

from config.sessions import FreshKeyMixin


class SessionStore(FreshKeyMixin, cached_db.SessionStore):
    pass
