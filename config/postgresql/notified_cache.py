"""A per-process copy of query results, emptied whenever PostgreSQL says the tables they come from changed.

Statement-level triggers on those tables send a notification on a channel when a transaction that changed
them commits (the migration that creates them names the tables). One thread per process LISTENs on that
channel over a connection of its own, and every notification empties the copy: a change made by any
process, the console, a `manage.py` command or plain SQL is seen here as soon as it commits, give or take
the moment the thread takes to wake (milliseconds).

The copy is used only while the thread knows it hears. It proves that by notifying itself every
PROBE_SECONDS, and a probe not heard back within PROBE_TIMEOUT_SECONDS, a lost connection, missing
triggers or any error turn the copy off: every lookup then reads the database, as without a copy, until
the thread listens again and has heard its probe. That covers a connection that dies silently (a cut
network: at most PROBE_SECONDS + PROBE_TIMEOUT_SECONDS of stale answers) and a pooler that does not carry
notifications (PgBouncer in transaction mode: the probe never comes back, so the copy is never used).

Inside a transaction the copy is neither read nor filled: a transaction sees its own changes, which are
not committed (so not notified) yet. On any other database than PostgreSQL there is no copy at all.
"""

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Hashable
from typing import Any

from django.db import connections
from psycopg import sql

log = logging.getLogger(__name__)

PROBE_SECONDS = 5.0
PROBE_TIMEOUT_SECONDS = 2.0
RETRY_SECONDS = (0.5, 1, 2, 5, 10, 30)
_PROBE = "probe:"
_MISSING = object()


class NotifiedCache:
    def __init__(self, channel: str, *, triggers: frozenset[str], max_entries: int = 10_000) -> None:
        """`triggers`: the names of the triggers that notify `channel`; all must exist for the copy to be used."""
        self.channel = channel
        self.triggers = triggers
        self.max_entries = max_entries
        self._entries: dict[Hashable, Any] = {}
        self._generation = 0  # moves on every emptying, so a read that raced one is not kept
        self._listening = False
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()  # the running thread's own: a thread told to stop never starts again
        self.listener_backend_pid: int | None = None  # the listening connection's server process
        self.last_heard = ""  # the payload of the last notification that emptied the copy (the table's name)

    @property
    def listening(self) -> bool:
        return self._listening

    def get(self, alias: str, key: Hashable, load: Callable[[], Any]) -> Any:
        """load()'s answer for `key`: the copy's, or load() itself (kept if it can be, and not empty)."""
        if connections[alias].in_atomic_block:
            return load()  # a transaction sees its own changes, which no copy holds
        if self._pid != os.getpid():
            self._start(alias)  # first use in this process, or a forked child's
        if not self._listening:
            return load()
        found = self._entries.get(key, _MISSING)
        if found is not _MISSING:
            return found
        generation = self._generation
        value = load()
        if not value:
            return value  # not kept, so unknown keys cannot fill the copy
        with self._lock:
            if self.listening and self._generation == generation and len(self._entries) < self.max_entries:
                self._entries[key] = value
        return value

    def forget(self, *, listening: bool | None = None) -> None:
        with self._lock:
            self._entries = {}
            self._generation += 1
            if listening is not None:
                self._listening = listening

    def _start(self, alias: str) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._entries, self._listening = {}, False
            self._generation += 1
        if connections[alias].vendor != "postgresql":
            return  # never listening: every lookup reads the database
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen_forever, args=(alias, self._stop),
                                        name=f"listen {self.channel}", daemon=True)
        self._thread.start()

    def stop(self, alias: str) -> None:
        """Stop listening and forget everything; the next lookup starts again. For tests, whose database
        cannot be dropped while a connection to it is open."""
        self._stop.set()
        try:
            backend_pid, thread = self.listener_backend_pid, self._thread
            if backend_pid is not None:
                with connections[alias].cursor() as cursor:
                    cursor.execute("SELECT pg_terminate_backend(%s)", [backend_pid])
            if thread is not None:
                thread.join(timeout=10)
        finally:
            self._thread, self._pid = None, None
            self.forget(listening=False)

    def _listen_forever(self, alias: str, stop: threading.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                self._listen(alias)
            except Exception as error:  # whatever happened, the copy is off until the thread listens again
                if not stop.is_set():
                    # Every failure is logged with its reason; the first with its traceback.
                    log.warning("not listening on %s (%s); reading the database on every lookup", self.channel,
                                error, exc_info=failures == 0)
            if self._listening:
                failures = 0  # it had worked: retry soon
            self.forget(listening=False)
            stop.wait(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
            failures += 1

    def _listen(self, alias: str) -> None:
        wrapper = connections[alias]  # this thread's own wrapper; only its settings are used
        connection = wrapper.get_new_connection(wrapper.get_connection_params())
        try:
            connection.autocommit = True
            present = {name for (name,) in connection.execute(
                "SELECT tgname FROM pg_trigger WHERE tgname = ANY(%s) AND tgenabled <> 'D'", [list(self.triggers)])}
            if present != self.triggers:
                raise RuntimeError(f"triggers missing or disabled: {sorted(self.triggers - present)}")
            connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
            self.listener_backend_pid = connection.info.backend_pid
            self._serve(connection)
        finally:
            self.listener_backend_pid = None
            connection.close()

    def _serve(self, connection) -> None:
        probe = f"{_PROBE}{uuid.uuid4().hex}"
        sent_at: float | None = None  # when the probe awaited was sent
        next_probe = time.monotonic()
        while True:
            now = time.monotonic()
            if sent_at is not None and now - sent_at > PROBE_TIMEOUT_SECONDS:
                raise TimeoutError(f"no notification on {self.channel} came back in {PROBE_TIMEOUT_SECONDS} s")
            if sent_at is None and now >= next_probe:
                connection.execute("SELECT pg_notify(%s, %s)", [self.channel, probe])
                sent_at, next_probe = now, now + PROBE_SECONDS
            wait = (sent_at + PROBE_TIMEOUT_SECONDS if sent_at is not None else next_probe) - now
            for notification in connection.notifies(timeout=max(wait, 0.01)):
                if notification.payload == probe:
                    sent_at = None
                    if not self._listening:
                        self.forget(listening=True)
                elif not notification.payload.startswith(_PROBE):
                    self.forget()  # a table changed
                    self.last_heard = notification.payload
