"""Statements prepared on the server for the requests every sign-in makes (issue #14 item 5).

A sign-in flow runs ~25 small statements, each a lookup or a write by a key (the user's email, the
sign-in lock's key, the code, the session). Sent as Django sends them, text with the values inlined,
PostgreSQL parses and plans each one every time: ~40 % of its CPU for such a statement
(bench/RESULTS.md, session 16). Inside `PreparedStatementsMiddleware`'s scope the connection prepares
them instead (config.postgresql's `prepared_statements()`), once per statement and connection.

The middleware opens that scope around the whole request, its middleware included (the session's
INSERT is written on the way out), for the paths of settings.GATEHOUSE_PREPARED_URL_NAMES only: views
whose statements are lookups by a key, where PostgreSQL's generic plan is the right one. A console list
filtered on a skewed column is not (config/postgresql/base.py says why), so no console or API path is
listed. On a backend without the scope (SQLite) the middleware takes itself out of the chain.
"""

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse


class PreparedStatementsMiddleware:
    sync_capable = True
    async_capable = False

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        if not hasattr(connections[DEFAULT_DB_ALIAS], "prepared_statements"):
            raise MiddlewareNotUsed
        self.get_response = get_response
        self._paths: frozenset[str] | None = None  # resolved on first use, once the URLconf loads

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        paths = self._paths
        if paths is None:
            paths = self._paths = frozenset(reverse(name) for name in settings.GATEHOUSE_PREPARED_URL_NAMES)
        if request.path not in paths:
            return self.get_response(request)
        with connections[DEFAULT_DB_ALIAS].prepared_statements():  # type: ignore[attr-defined]
            return self.get_response(request)
