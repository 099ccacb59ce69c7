"""config/wsgi.py's lean path for a machine's token request answers what Django's full stack answers, and
leaves every other request (with its body intact) to Django.

Each test sends a WSGI environ to `config.wsgi.application` (lean path first) and, with a fresh copy of
the body, to `config.wsgi.django_application`, and compares status, headers and the token's shape.
"""

import base64
import io
import json

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory

from applications.api_services import api_create, application_api_scopes_set
from applications.models import ApiScope, Application
from config import wsgi
from config.tests.test_wsgi_fast_path import call as call_app
from identity import signing
from identity.tests.oidc_support import make_machine_app
from security import client_auth_throttle

pytestmark = pytest.mark.django_db

BODY = "grant_type=client_credentials&scope=orders%3Aread"


@pytest.fixture(autouse=True)
def _isolated():
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    signing.signing_key_cache_clear()
    wsgi._envelopes.clear()
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def machine(org):
    signing.signing_key_ensure()
    client = make_machine_app(org)
    api_create(org=org, name="Orders", identifier="https://orders.acme.test", scopes=[("orders:read", "Read")])
    application_api_scopes_set(application=Application.objects.get(client_id=client.client_id),
                               scopes=ApiScope.objects.filter(name="orders:read"))
    return client


def environ(body: str, *, secret: str | None = None, client=None, **extra) -> dict:
    headers = dict(extra)
    if client is not None:
        raw = f"{client.client_id}:{secret or client.client_secret}".encode()
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(raw).decode()
    env = RequestFactory().post("/oauth/token", body, content_type="application/x-www-form-urlencoded",
                                **headers).environ
    env["wsgi.input"] = io.BytesIO(env["wsgi.input"].read())
    return env


def call(app, env: dict) -> tuple[str, dict, bytes]:
    """test_wsgi_fast_path's call, with the body read afresh (a request's input is read once)."""
    return call_app(app, fresh(env))


def fresh(env: dict) -> dict:
    body = env["wsgi.input"].getvalue()
    return {**env, "wsgi.input": io.BytesIO(body)}


@pytest.mark.parametrize(("body", "dots"), [(BODY, 2), ("grant_type=client_credentials", 0)])
def test_a_machines_token_request_is_answered_lean_with_djangos_headers(machine, body, dots):
    env = environ(body, client=machine)
    assert wsgi.lean_token_response(fresh(env)) is not None
    lean_status, lean_headers, lean_body = call(wsgi.application, fresh(env))
    django_status, django_headers, django_body = call(wsgi.django_application, fresh(env))
    assert lean_status == django_status == "200 OK"
    assert {k: v for k, v in lean_headers.items() if k != "content-length"} == \
        {k: v for k, v in django_headers.items() if k != "content-length"}
    assert lean_headers["cache-control"] == "no-store"
    mine, theirs = json.loads(lean_body), json.loads(django_body)
    assert {**mine, "access_token": None} == {**theirs, "access_token": None}
    assert mine["access_token"].count(".") == dots


@pytest.mark.parametrize(("body", "extra", "status"), [
    (BODY, {"secret": "wrong"}, "401"),  # an error: DOT's answer
    ("grant_type=client_credentials&scope=orders%3Awrite", {}, "400"),
    (BODY, {"HTTP_ORIGIN": "https://app.example"}, "200"),  # CORS is the wrapper's
    (BODY, {"HTTP_COOKIE": "gatehouse_session=x"}, "200"),
])
def test_everything_else_reaches_django_with_its_body(machine, body, extra, status):
    secret = extra.pop("secret", None)
    env = environ(body, client=machine, secret=secret, **extra)
    assert wsgi.lean_token_response(fresh(env)) is None
    answered = call(wsgi.application, env)
    assert answered[0].startswith(status), answered
    assert answered[0] == call(wsgi.django_application, fresh(env))[0]


def test_a_query_string_or_an_oversized_body_is_djangos(machine):
    env = environ(BODY, client=machine)
    assert wsgi.lean_token_response({**fresh(env), "QUERY_STRING": "x=1"}) is None
    big = environ(BODY + "&pad=" + "x" * 5000, client=machine)
    assert wsgi.lean_token_response(fresh(big)) is None
    assert call(wsgi.application, big)[0] == call(wsgi.django_application, big)[0]


def test_a_remembered_throttle_sends_requests_through_django(machine, monkeypatch):
    env = environ(BODY, client=machine)
    monkeypatch.setitem(client_auth_throttle._blocked_ips, "203.0.113.9", 10**12)
    assert wsgi.lean_token_response(fresh(env)) is None
    assert call(wsgi.application, env)[0] == "200 OK"  # this IP is not the blocked one
