"""The lean answer for a machine's JWT (identity.oidc.lean_api_token) is the answer of DOT's path.

DOT's stock view cannot issue a token it does not store (it selects the row after issuing), so the other
side is our TokenView with the lean paths switched off: DOT's TokenView, oauthlib and our validator.
Each case compares status, headers, the JSON and the JWT's header and claims (its jti and times aside),
and that neither stored a row; requests the lean path must not answer are checked to reach DOT.
"""

import base64
import json

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import get_access_token_model

from applications.api_services import api_create, application_api_scopes_set
from applications.models import Api, ApiScope, Application
from identity.oidc import endpoints
from identity.oidc import lean as lean_paths
from identity.signing import signing_key_ensure
from identity.tests.oidc_support import make_machine_app

pytestmark = pytest.mark.django_db

ours = endpoints.TokenView.as_view()
HEADERS = ("Content-Type", "Cache-Control", "Pragma", "WWW-Authenticate")


def _segment(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _jwt_shape(token: str) -> tuple[dict, dict]:
    header, claims, _signature = token.split(".")
    claims = _segment(claims)
    assert claims["exp"] - claims["iat"] == json.loads(json.dumps(claims))["exp"] - claims["nbf"]
    return _segment(header), {name: value for name, value in claims.items() if name not in ("jti", "iat", "nbf", "exp")}


@pytest.fixture
def machine(org):
    signing_key_ensure()  # the lean path signs with a key that exists; the first ever token makes it
    client = make_machine_app(org)
    orders = api_create(org=org, name="Orders", identifier="https://orders.acme.test",
                        scopes=[("orders:read", "Read"), ("orders:write", "Write")])
    api_create(org=org, name="Opaque", identifier="https://opaque.acme.test", token_format=Api.TokenFormat.OPAQUE,
               scopes=[("opaque:read", "Read")])
    application = Application.objects.get(client_id=client.client_id)
    application_api_scopes_set(application=application,
                               scopes=ApiScope.objects.filter(name__in=["orders:read", "opaque:read"]))
    client.api = orders.api
    return client


def auth(machine) -> dict:
    raw = base64.b64encode(f"{machine.client_id}:{machine.client_secret}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {raw}"}


def _post(body: str, **extra):
    return ours(RequestFactory().post("/oauth/token", body, content_type="application/x-www-form-urlencoded", **extra))


def assert_same(body: str, *, lean: bool, monkeypatch, **extra) -> dict | None:
    request = RequestFactory().post("/oauth/token", body, content_type="application/x-www-form-urlencoded", **extra)
    assert (lean_paths.token_response(request) is not None) is lean
    mine = _post(body, **extra)
    with monkeypatch.context() as patch:
        patch.setattr(lean_paths, "token_response", lambda request: None)
        theirs = _post(body, **extra)
    assert mine.status_code == theirs.status_code
    assert {h: mine.get(h) for h in HEADERS} == {h: theirs.get(h) for h in HEADERS}
    if theirs.status_code != 200:
        assert mine.content == theirs.content
        return None
    mine_json, their_json = json.loads(mine.content), json.loads(theirs.content)
    assert list(mine_json) == list(their_json)
    assert {**mine_json, "access_token": None} == {**their_json, "access_token": None}
    if mine_json["access_token"].count(".") == 2:
        assert _jwt_shape(mine_json["access_token"]) == _jwt_shape(their_json["access_token"])
        assert not get_access_token_model().objects.exists()
    return mine_json


@pytest.mark.parametrize("body", [
    "grant_type=client_credentials&scope=orders%3Aread",
    "grant_type=client_credentials&resource=https%3A%2F%2Forders.acme.test",
    "grant_type=client_credentials&scope=orders%3Aread&resource=https%3A%2F%2Forders.acme.test",
])
def test_a_machines_jwt_is_what_dot_issues(machine, body, monkeypatch):
    answer = assert_same(body, lean=True, monkeypatch=monkeypatch, **auth(machine))
    assert answer["scope"] == "orders:read"
    assert answer["expires_in"] == 600


@pytest.mark.parametrize("body", [
    "grant_type=client_credentials&scope=orders%3Awrite",  # not granted
    "grant_type=client_credentials&scope=nope",
    "grant_type=client_credentials&scope=openid",
    "grant_type=client_credentials&scope=",
    "grant_type=client_credentials&scope=orders%3Aread++orders%3Aread",
    "grant_type=client_credentials&scope=orders%3Aread+orders%3Aread",
    "grant_type=client_credentials&scope=opaque%3Aread",  # an opaque API: DOT stores the row
    "grant_type=client_credentials&resource=https%3A%2F%2Funknown.acme.test",
    "grant_type=client_credentials&resource=not-a-uri",
    "grant_type=client_credentials&resource=https%3A%2F%2Forders.acme.test&resource=https%3A%2F%2Fo.acme.test",
    "grant_type=client_credentials&scope=opaque%3Aread&resource=https%3A%2F%2Forders.acme.test",
])
def test_everything_else_is_dots_answer(machine, body, monkeypatch):
    assert_same(body, lean=False, monkeypatch=monkeypatch, **auth(machine))


def test_a_wrong_secret_or_a_disabled_client_is_dots_answer(machine, monkeypatch):
    raw = base64.b64encode(f"{machine.client_id}:wrong".encode()).decode()
    assert_same("grant_type=client_credentials&scope=orders%3Aread", lean=False, monkeypatch=monkeypatch,
                HTTP_AUTHORIZATION=f"Basic {raw}")
    Application.objects.filter(client_id=machine.client_id).update(status=Application.Status.DISABLED)
    assert_same("grant_type=client_credentials&scope=orders%3Aread", lean=False, monkeypatch=monkeypatch,
                **auth(machine))


def test_a_connected_app_authorized_receiver_gets_no_500_for_a_jwt(machine):
    from oauth2_provider.signals import app_authorized

    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    app_authorized.connect(receiver, weak=False)
    try:
        response = _post("grant_type=client_credentials&scope=orders%3Aread", **auth(machine))
    finally:
        app_authorized.disconnect(receiver)
    assert response.status_code == 200
    assert received == []  # nothing stored, nothing to announce


def test_one_statement_and_no_write(machine):
    """Once the process holds the decrypted signing key (the first token reads it)."""
    assert _post("grant_type=client_credentials&scope=orders%3Aread", **auth(machine)).status_code == 200
    request = RequestFactory().post("/oauth/token", "grant_type=client_credentials&scope=orders%3Aread",
                                    content_type="application/x-www-form-urlencoded", **auth(machine))
    with CaptureQueriesContext(connection) as queries:
        response = ours(request)
    assert response.status_code == 200
    assert len(queries.captured_queries) == 1, [query["sql"] for query in queries.captured_queries]
