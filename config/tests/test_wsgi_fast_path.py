"""config/wsgi.py's lean path for discovery and JWKS answers exactly what Django's full stack answers.

Each test sends the same WSGI environ to `config.wsgi.application` (lean path first) and to
`config.wsgi.django_application` (every middleware, then the view) and compares status, headers and
body bytes.
"""

import json

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory
from django.utils import timezone

from config import wsgi
from identity import jwks as jwks_module
from identity import signing
from identity.models import SigningKey

pytestmark = pytest.mark.django_db

PATHS = [wsgi.JWKS_PATH, wsgi.DISCOVERY_PATH]


@pytest.fixture(autouse=True)
def _isolated():
    # A real WSGIHandler closes "obsolete" connections around each request, which inside a test's
    # transaction means closing it: keep the connection, as Django's test client does.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    signing.signing_key_cache_clear()
    wsgi._envelopes.clear()
    yield
    signing.signing_key_cache_clear()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def environ(path: str, method: str = "GET", **extra) -> dict:
    return RequestFactory().generic(method, path, **extra).environ


def call(app, env: dict) -> tuple[str, dict, bytes]:
    captured = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers

    result = app(dict(env), start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    names = [name.lower() for name, _ in captured["headers"]]
    assert len(names) == len(set(names)), f"duplicate headers: {captured['headers']}"
    return captured["status"], {name.lower(): value for name, value in captured["headers"]}, body


def served_lean(env: dict) -> bool:
    return wsgi.lean_response(dict(env)) is not None


@pytest.mark.parametrize("path", PATHS)
def test_first_request_goes_to_django_then_the_lean_path_answers_the_same(path):
    env = environ(path)
    assert not served_lean(env)  # nothing cached in this process yet: the view builds it
    django_answer = call(wsgi.django_application, env)
    assert served_lean(env)

    lean_answer = call(wsgi.application, env)
    assert lean_answer == django_answer
    status, headers, body = lean_answer
    assert status == "200 OK"
    assert headers["cache-control"] == "public, max-age=3600"
    assert headers["content-type"] == "application/json"
    assert headers["access-control-allow-origin"] == "*"
    assert headers["content-length"] == str(len(body))
    json.loads(body)


@pytest.mark.parametrize("path", PATHS)
def test_https_request_with_hsts_gets_the_same_answer(path, settings):
    settings.SECURE_HSTS_SECONDS = 600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    env = environ(path, secure=True)
    # SecurityMiddleware reads its settings when the handler loads: a handler loaded after the change.
    django_answer = call(WSGIHandler(), env)
    assert served_lean(env)
    lean_answer = call(wsgi.application, env)
    assert lean_answer == django_answer
    assert lean_answer[1]["strict-transport-security"] == "max-age=600; includeSubDomains"


@pytest.mark.parametrize("path", PATHS)
def test_query_string_and_an_origin_change_nothing(path):
    call(wsgi.django_application, environ(path))
    env = environ(path, QUERY_STRING="x=1", HTTP_ORIGIN="https://rp.example")
    assert served_lean(env)
    assert call(wsgi.application, env) == call(wsgi.django_application, env)


@pytest.mark.parametrize("path", PATHS)
def test_other_methods_and_disallowed_hosts_are_left_to_django(path):
    call(wsgi.django_application, environ(path))  # warm the caches
    for env in (environ(path, "HEAD"), environ(path, "POST"), environ(path, "OPTIONS"),
                environ(path, HTTP_HOST="evil.example")):
        assert not served_lean(env)
        # Django answers (405; 403 for a POST without a CSRF cookie; 400): the same status either way.
        assert call(wsgi.application, env)[0] == call(wsgi.django_application, env)[0]
    assert call(wsgi.application, environ(path, HTTP_HOST="evil.example"))[0].startswith("400")


@pytest.mark.parametrize("path", PATHS)
def test_a_request_with_a_session_cookie_is_left_to_django(path, client, sign_in, org_admin, settings):
    call(wsgi.django_application, environ(path))  # warm the caches
    sign_in(org_admin)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    env = environ(path, HTTP_COOKIE=cookie)
    assert not served_lean(env)
    assert call(wsgi.application, env) == call(wsgi.django_application, env)
    assert served_lean(environ(path, HTTP_COOKIE="theme=dark"))


def test_other_paths_are_left_to_django():
    call(wsgi.django_application, environ(wsgi.JWKS_PATH))
    for path in (wsgi.JWKS_PATH + "/", "/.well-known/jwks.json.bak", "/.well-known/", "/oauth/token"):
        assert not served_lean(environ(path))


def test_jwks_follows_the_view_cache_expiry_and_key_changes(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(jwks_module.time, "monotonic", lambda: clock[0])
    env = environ(wsgi.JWKS_PATH)
    first = call(wsgi.django_application, env)
    assert call(wsgi.application, env) == first

    # Another process rotates the keys; this one is not told.
    old, upcoming = (SigningKey.objects.get(state=state) for state in (SigningKey.State.ACTIVE, SigningKey.State.NEXT))
    now = timezone.now()
    SigningKey.objects.filter(pk=old.pk).update(state=SigningKey.State.RETIRED, retired_at=now, verify_until=now)
    SigningKey.objects.filter(pk=upcoming.pk).update(state=SigningKey.State.ACTIVE, activated_at=now)
    signing._create(material=signing._generate(), state=SigningKey.State.NEXT, now=now)

    clock[0] += signing.JWKS_PROCESS_CACHE_SECONDS - 1  # still fresh: the cached copy, as the view serves it
    assert call(wsgi.application, env) == first
    clock[0] += 2  # stale: the lean path steps aside and the view rebuilds
    assert not served_lean(env)
    rebuilt = call(wsgi.application, env)
    assert rebuilt != first
    assert [key["kid"] for key in json.loads(rebuilt[2])["keys"]][0] == upcoming.kid
    assert served_lean(env)
    assert call(wsgi.application, env) == rebuilt == call(wsgi.django_application, env)


def test_a_key_change_in_this_process_is_served_at_once():
    env = environ(wsgi.JWKS_PATH)
    before = call(wsgi.application, env)
    signing.signing_key_rotate(force=True)  # clears this process's caches
    assert not served_lean(env)
    after = call(wsgi.application, env)
    assert after != before
    assert after == call(wsgi.django_application, env)
