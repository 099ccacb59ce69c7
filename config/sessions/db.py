"""Django's database session store, drawing new keys without a query (config/sessions/__init__.py)."""

from django.contrib.sessions.backends import db

from config.sessions import FreshKeyMixin


class SessionStore(FreshKeyMixin, db.SessionStore):
    pass
