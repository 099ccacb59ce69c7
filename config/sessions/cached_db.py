"""Django's cached database session store, drawing new keys without a query or a cache read, writing a new
session once, and deleting a session with one statement (config/sessions/__init__.py)."""

from django.contrib.sessions.backends import cached_db

from config.sessions import DeferredInsertMixin, DeleteByKeyMixin, FreshKeyMixin


class SessionStore(FreshKeyMixin, DeferredInsertMixin, DeleteByKeyMixin, cached_db.SessionStore):
    pass
