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


@pytest.fixture(params=["config.sessions.db", "config.sessions.cached_db"])
def store(request, settings):
    """Each engine's store; the cached one over a real (in-process) cache, as production's is over Redis."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return import_module(request.param).SessionStore


def test_a_session_is_deleted_with_one_statement_and_is_gone_everywhere(store):
    session = store()
    session["user"] = "someone"
    session.save()
    assert store(session.session_key)["user"] == "someone"  # and in the cache, for cached_db

    with CaptureQueriesContext(connection) as queries:
        session.delete()

    statements = [q["sql"] for q in queries.captured_queries if "django_session" in q["sql"]]
    assert len(statements) == 1
    assert statements[0].startswith("DELETE")
    assert not store().exists(session.session_key)
    assert store(session.session_key).load() == {}  # neither the row nor a cached copy answers


def test_signing_in_again_replaces_the_old_session(store):
    session = store()
    session["flow"] = "pending"
    session.save()
    old_key = session.session_key

    session.cycle_key()  # what login() does
    session["user"] = "someone"  # and then, in the same request, the user it signs in
    session.save()  # SessionMiddleware, at the response

    assert session.session_key != old_key
    assert session["flow"] == "pending"
    assert not store().exists(old_key)
    assert store(old_key).load() == {}
    assert store(session.session_key)["flow"] == "pending"
    assert store(session.session_key)["user"] == "someone"
    store().delete("never-existed-" + "x" * 18)  # a key with no row: nothing to do, no error


def test_a_sign_in_writes_its_new_session_once(store):
    """cycle_key() draws the new key; the response's save writes it, with what the request added, in one INSERT."""
    session = store()
    session["flow"] = "pending"
    session.save()
    old_key = session.session_key

    with CaptureQueriesContext(connection) as queries:
        session.cycle_key()
        session["user"] = "someone"
        session.save()
    again = store(session.session_key)
    again["seen"] = True
    with CaptureQueriesContext(connection) as later:
        again.save()

    statements = [q["sql"].split()[0] for q in queries.captured_queries
                  if "django_session" in q["sql"] and "SAVEPOINT" not in q["sql"]]
    assert statements == ["DELETE", "INSERT"]  # the old key's row, then the new one, once
    assert not store().exists(old_key)
    assert store(session.session_key).load() == {"flow": "pending", "user": "someone", "seen": True}
    assert [q["sql"].split()[0] for q in later.captured_queries if "django_session" in q["sql"]] == ["UPDATE"]


def test_a_new_session_that_is_never_saved_leaves_no_row(store):
    """A response that does not save (a 500: SessionMiddleware skips it) sends no cookie, and leaves nothing."""
    session = store()
    session["flow"] = "pending"
    session.cycle_key()

    assert session.session_key
    assert not store().exists(session.session_key)
