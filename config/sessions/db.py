"""Django's database session store, drawing new keys without a query, writing a new session once, and deleting
a session with one statement (config/sessions/__init__.py)."""

from django.contrib.sessions.backends import db

from config.sessions import DeferredInsertMixin, DeleteByKeyMixin, FreshKeyMixin


class SessionStore(FreshKeyMixin, DeferredInsertMixin, DeleteByKeyMixin, db.SessionStore):
    pass
