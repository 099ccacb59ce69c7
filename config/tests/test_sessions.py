"""The session engines draw a new key without asking whether it is taken; the insert still refuses a taken one."""

from importlib import import_module

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

import config.sessions

pytestmark = pytest.mark.django_db


def _store():
    return import_module(settings.SESSION_ENGINE).SessionStore()


def test_a_new_session_is_one_insert():
    session = _store()
    session["flow"] = {"user_id": 1}

    with CaptureQueriesContext(connection) as queries:
        session.save()

    statements = [q["sql"].split()[0] for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert statements == ["INSERT"]
    assert _store().exists(session.session_key)


def test_a_key_already_taken_is_drawn_again(monkeypatch):
    taken = _store()
    taken["who"] = "first"
    taken.save()
    draws = iter([taken.session_key, "k" * 32])
    monkeypatch.setattr(config.sessions, "get_random_string", lambda length, chars: next(draws))

    second = _store()
    second["who"] = "second"
    second.save()

    assert second.session_key == "k" * 32
    assert import_module(settings.SESSION_ENGINE).SessionStore(taken.session_key)["who"] == "first"
    assert import_module(settings.SESSION_ENGINE).SessionStore("k" * 32)["who"] == "second"
