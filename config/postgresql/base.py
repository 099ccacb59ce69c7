"""Django's PostgreSQL backend, with a health check that costs no round trip on an idle connection.

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

Statements are bound and prepared on the server by Django's own options (`server_side_binding`,
`prepare_threshold`, set in config/settings.py), not here.
"""

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
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
