"""Django's database session store, drawing new keys without a query, and deleting a session with one statement
(config/sessions/__init__.py)."""

from django.contrib.sessions.backends import db

from config.sessions import DeleteByKeyMixin, FreshKeyMixin


class SessionStore(FreshKeyMixin, DeleteByKeyMixin, db.SessionStore):
    pass
