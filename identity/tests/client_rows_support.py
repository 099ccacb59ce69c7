"""Waiting for this process's copy of client rows (config/postgresql/client_rows.py) to hear PostgreSQL: the
listener runs in its own thread, so a test waits for what it expects, within a bound, instead of sleeping."""

import time

from django.db import connection

from config.postgresql.client_rows import client_rows


def until(condition, what: str, seconds: float = 5) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not {what} within {seconds} s"
        time.sleep(0.01)


def heard_everything_so_far() -> None:
    """Wait until the listener has heard every notification sent so far: PostgreSQL delivers them in the order
    they were sent, so once it hears one sent now, it has heard those before it."""
    barrier = f"test barrier {time.monotonic_ns()}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [client_rows.channel, barrier])
    until(lambda: client_rows.last_heard == barrier, "heard")
