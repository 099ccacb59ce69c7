"""The PostgreSQL backend's health check (config.postgresql), against a real PostgreSQL server.

A persistent connection that is idle and quiet is used without a `SELECT 1`; one the server has
ended is noticed and replaced before the request's first query, as Django's own check does.
"""

import select
import time

import psycopg
import pytest
from django.db import connection

from config.tests.test_services import require_env

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin_connection():
    """A second connection to the same server, to watch and end the test's own backend."""
    require_env("DATABASE_URL")
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        yield other


def _new_request() -> None:
    """What Django does between requests: the next request's first query runs the health check."""
    connection.close_if_unusable_or_obsolete()


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _last_query(admin_connection, pid: int) -> str:
    return admin_connection.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()[0]


def _wait_readable(timeout: float = 10.0) -> None:
    poller = select.poll()
    poller.register(connection.connection.fileno(), select.POLLIN)
    assert poller.poll(int(timeout * 1000)), "the server's message never arrived"


def test_backend_is_gatehouses(settings):
    require_env("DATABASE_URL")
    assert settings.DATABASES["default"]["ENGINE"] == "config.postgresql"
    assert settings.DATABASES["default"]["CONN_HEALTH_CHECKS"] is True
    assert connection.health_check_enabled


def test_idle_quiet_connection_is_used_without_a_round_trip(admin_connection):
    pid = _backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'the request before'")
    _new_request()
    assert not connection.health_check_done
    with connection.cursor():  # the health check runs here, before any query of this request
        pass
    assert connection.health_check_done
    assert _last_query(admin_connection, pid) == "SELECT 'the request before'"  # no SELECT 1 was sent
    assert _backend_pid() == pid


def test_connection_ended_by_the_server_is_replaced_before_the_first_query(admin_connection):
    pid = _backend_pid()
    assert admin_connection.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0] is True
    _wait_readable()
    _new_request()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 41 + 1")
        assert cursor.fetchone()[0] == 42
    assert _backend_pid() != pid


def test_something_arrived_on_a_healthy_connection_gets_the_select_1(admin_connection):
    pid = _backend_pid()
    with connection.cursor() as cursor:
        cursor.execute("LISTEN gatehouse_health_check_test")
    admin_connection.execute("NOTIFY gatehouse_health_check_test")
    _wait_readable()
    _new_request()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 'after the notification'")
        cursor.execute("UNLISTEN *")
    assert _backend_pid() == pid  # still usable: kept


def test_a_connection_inside_a_transaction_gets_the_select_1(admin_connection):
    pid = _backend_pid()
    connection.set_autocommit(False)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 'in a transaction'")
        connection.health_check_done = False
        with connection.cursor():
            pass
        deadline = time.monotonic() + 5
        while _last_query(admin_connection, pid) != "SELECT 1" and time.monotonic() < deadline:
            time.sleep(0.05)  # pg_stat_activity is updated asynchronously
        assert _last_query(admin_connection, pid) == "SELECT 1"
    finally:
        connection.rollback()
        connection.set_autocommit(True)


def test_a_prepared_cursor_prepares_its_statements_on_the_server_and_is_logged(admin_connection):
    from django.test.utils import CaptureQueriesContext

    sql = "SELECT %s::int + 1 AS gatehouse_prepared_test"
    with CaptureQueriesContext(connection) as queries:
        for value in (1, 2):
            with connection.prepared_cursor() as cursor:
                cursor.execute(sql, [value])
                assert cursor.fetchone()[0] == value + 1
    # In Django's query log (assertNumQueries, debug toolbar) with their values, as other statements are.
    assert [query["sql"] for query in queries.captured_queries] == [sql % 1, sql % 2]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                       ["%gatehouse_prepared_test%"])
        assert cursor.fetchone()[0] == 1  # prepared once on this connection, used twice


@pytest.fixture
def table_whose_column_changes(admin_connection):
    admin_connection.execute("CREATE TABLE gatehouse_stale_plan (id int PRIMARY KEY, name varchar(10))")
    admin_connection.execute("INSERT INTO gatehouse_stale_plan VALUES (1, 'a')")
    yield lambda: admin_connection.execute("ALTER TABLE gatehouse_stale_plan ALTER COLUMN name TYPE varchar(20)")
    admin_connection.execute("DROP TABLE gatehouse_stale_plan")


STALE_SQL = "SELECT id, name FROM gatehouse_stale_plan WHERE id = %s"


def _read_prepared() -> tuple:
    with connection.prepared_cursor() as cursor:
        cursor.execute(STALE_SQL, [1])
        return cursor.fetchone()


def test_a_prepared_statement_whose_column_changed_type_still_answers_and_its_connection_is_renewed(
        table_whose_column_changes):
    """A migration run by another process (a deploy) changes a column that a prepared statement reads:
    PostgreSQL refuses the old statement; the request still gets its answer, and the connection, with every
    statement prepared on it, is closed when the request ends."""
    assert _read_prepared() == (1, "a")
    pid = _backend_pid()
    table_whose_column_changes()
    assert _read_prepared() == (1, "a")
    _new_request()  # what Django does when the request ends
    assert connection.connection is None
    assert _read_prepared() == (1, "a")  # prepared again on the new connection
    assert _backend_pid() != pid
    assert _read_prepared() == (1, "a")


def test_inside_a_transaction_a_stale_statement_fails_that_transaction_only(table_whose_column_changes):
    from django.db import NotSupportedError, transaction

    assert _read_prepared() == (1, "a")
    table_whose_column_changes()
    with pytest.raises(NotSupportedError), transaction.atomic():
        _read_prepared()  # the transaction is aborted by then: nothing to retry in
    assert connection.close_at <= time.monotonic()  # closed when the request ends
    _new_request()
    assert connection.connection is None
    assert _read_prepared() == (1, "a")
