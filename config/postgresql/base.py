"""Django's PostgreSQL backend, with a health check that costs no round trip on an idle connection,
and cursors whose statements are prepared once per connection for the hottest queries.

With CONN_HEALTH_CHECKS, Django checks a persistent connection before the first query of each
request by sending `SELECT 1`: a round trip on every request, about a tenth of the CPU of a
userinfo or client-credentials request, on both sides. An idle connection (no transaction open)
has nothing to read: when the server ends it — a restart, a failover, `idle_session_timeout`,
`pg_terminate_backend` — it sends an error and closes its side, and the socket becomes readable.
So a plainly idle connection whose socket has nothing to read is as usable as the last query
left it, and is used without asking; anything else (something arrived, a transaction is open, the
client already knows it is broken) gets Django's `SELECT 1`, which reads what arrived and tells.

Neither check sees a server that vanished without closing (host lost, network cut): `SELECT 1`
would wait for TCP to give up just as the request's own query does.

Django sends every statement as text with its values inlined (client-side binding), so PostgreSQL
parses and plans it each time: for the small keyed statements of a sign-in or a token request,
planning costs PostgreSQL more than running them does. Two ways to skip it, both binding values on
the server and preparing each statement on its first use on this connection (psycopg keeps up to 100
per connection, the least recently used dropped first):
- `prepared_cursor()`, a cursor for the lean token paths' fixed statements (identity.oidc.lean_sql);
- `prepared_statements()`, a scope inside which every cursor this connection makes, the ORM's
  included, prepares (config.prepared_statements opens it around the sign-in and token requests).

Not everywhere: after five runs PostgreSQL may plan a prepared statement once for any value (a generic
plan), which is right for a lookup by a key and can be very wrong for a filter on a skewed column (a
console list of 40 admins among 100,000 members went from 7 to 200 ms; bench/RESULTS.md, "psycopg's own
server-side binding"). So preparing stays opt-in, for requests whose statements are lookups by a key.
Behind PgBouncer in transaction mode this needs PgBouncer 1.21 or later with `max_prepared_statements`
set.
"""

import select
import sys
import time
from contextlib import contextmanager

import psycopg
from django.db.backends.postgresql import base, operations
from django.utils.asyncio import async_unsafe
from psycopg import pq


class _PreparedCursor(psycopg.Cursor):
    """Values bound on the server; each statement prepared on its first execution.

    A statement prepared before a migration changed the type of a column it reads (even a varchar's
    length) fails with "cached plan must not change result type" (feature_not_supported) for as long as
    the connection keeps it: psycopg forgets its prepared statements only on a ROLLBACK or DDL of its own
    connection. So on that error the connection is closed at the end of the request (`stale_plan`, set by
    the backend), and a statement outside a transaction is sent again unprepared, so the request still
    succeeds; inside one, the transaction is already aborted and the error goes up as any other.
    """

    stale_plan = None  # what to call when a prepared statement has gone stale (DatabaseWrapper sets it)

    def execute(self, query, params=None, *, prepare=None, binary=None):
        try:
            return super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)
        except psycopg.errors.FeatureNotSupported:
            if prepare is False:
                raise
            if self.connection.info.transaction_status != pq.TransactionStatus.IDLE:
                self._stale()  # cannot tell here: a statement that never works is a bug met in any test
                raise
            answered = super().execute(query, params, prepare=False, binary=binary)
            self._stale()  # it answers unprepared: the prepared one had gone stale
            return answered

    def _stale(self) -> None:
        if self.stale_plan is not None:
            self.stale_plan()


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor, sql, params):
        if isinstance(cursor, _PreparedCursor):
            # What the query log shows for a prepared statement: its text with the values in it, as
            # for every other statement (psycopg keeps no text for a statement executed by name).
            try:
                return self.compose_sql(sql, params)
            except psycopg.errors.DataError:
                return None
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if connection.prepare_threshold is None:
            # Django turns psycopg's preparing off (None), which also refuses prepare=True. A threshold
            # no count reaches lets prepared_cursor() prepare while nothing else does (Django's other
            # cursors bind on the client and never prepare).
            connection.prepare_threshold = sys.maxsize
        return connection

    _preparing = 0  # how many prepared_statements() scopes are open on this connection (its thread)

    @contextmanager
    def prepared_statements(self):
        """Inside, every cursor this connection makes prepares its statements on the server (see the
        module's docstring for where that is safe). Scopes nest."""
        self._preparing += 1
        try:
            yield
        finally:
            self._preparing -= 1

    def prepared_cursor(self):
        """Like cursor() (health check, connection, Django's wrapper and query log), with statements
        prepared on the server: for fixed statements run on every request."""
        with self.prepared_statements():
            return self.cursor()

    @async_unsafe
    def create_cursor(self, name=None):
        if name is not None or not self._preparing:
            return super().create_cursor(name)  # a named (server-side) cursor is never prepared
        cursor = _PreparedCursor(self.connection)
        cursor.stale_plan = self._close_after_request
        # As Django's create_cursor(): the cursor's timestamps in the connection's time zone.
        tzloader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, pq.Format.TEXT)
        if self.timezone != tzloader.timezone:
            base.register_tzloader(self.timezone, cursor)
        return cursor

    def _close_after_request(self) -> None:
        """Close this connection when the request ends (Django's close_if_unusable_or_obsolete), and with
        it every statement prepared on it."""
        self.close_at = time.monotonic()

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None:
            return False
        if (connection.closed or connection.pgconn.status != pq.ConnStatus.OK
                or connection.info.transaction_status != pq.TransactionStatus.IDLE
                or _has_input(connection.fileno())):
            return super().is_usable()
        return True


def _has_input(fileno: int) -> bool:
    """Whether the server sent anything (data, an error, the end of the connection) not yet read."""
    poller = select.poll()
    poller.register(fileno, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))  # POLLHUP and POLLERR are reported whatever was asked
