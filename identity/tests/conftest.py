"""Fixtures of the identity tests."""

import pytest
from django.db import connection

from config.postgresql.client_rows import client_rows
from identity.tests.client_rows_support import until


@pytest.fixture
def listening():
    """This process's listener, started by a first lookup, has heard its own probe (PostgreSQL only)."""
    assert connection.vendor == "postgresql", "a services test: run it with DATABASE_URL (.ci/run)"
    client_rows.get(connection.alias, "warm-up", lambda: None)
    until(lambda: client_rows.listening, "listening")
    return client_rows
