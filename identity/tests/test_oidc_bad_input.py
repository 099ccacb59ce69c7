"""Malformed requests to the OAuth endpoints get RFC error codes, never a 500."""

import base64

import pytest

from identity.tests.oidc_support import make_machine_app, make_web_app

pytestmark = pytest.mark.django_db


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("data", "auth", "status", "error"),
    [
        ({}, None, 400, "unsupported_grant_type"),
        # RFC 9700: the password grant is never honoured.
        ({"grant_type": "password", "username": "a", "password": "b"}, "machine", 400, "invalid_grant"),
        ({"grant_type": "magic"}, "machine", 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, "garbage", 401, "invalid_client"),
        ({"grant_type": "client_credentials"}, "nobody", 401, "invalid_client"),
        # PostgreSQL refuses a NUL in a query parameter: still just an unknown client.
        ({"grant_type": "client_credentials"}, "nul", 401, "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": "a\x00b", "client_secret": "x"}, None, 401,
         "invalid_client"),
        ({"grant_type": "authorization_code", "code": "nope", "redirect_uri": "https://rp.example/callback"},
         "web", 400, "invalid_grant"),
        ({"grant_type": "refresh_token", "refresh_token": "nope"}, "web", 400, "invalid_grant"),
        ({"grant_type": "authorization_code"}, "web", 400, "invalid_request"),
    ],
)
def test_token_endpoint_bad_requests(client, org, data, auth, status, error):
    machine = make_machine_app(org)
    web = make_web_app(org)
    headers = {}
    if auth == "machine":
        headers["HTTP_AUTHORIZATION"] = _basic(machine.client_id, machine.client_secret)
    elif auth == "web":
        headers["HTTP_AUTHORIZATION"] = _basic(web.client_id, web.client_secret)
    elif auth == "garbage":
        headers["HTTP_AUTHORIZATION"] = "Basic %%%not-base64"
    elif auth == "nobody":
        headers["HTTP_AUTHORIZATION"] = _basic("nobody", "x")
    elif auth == "nul":
        headers["HTTP_AUTHORIZATION"] = _basic("no\x00body", "x")
    response = client.post("/oauth/token", data, **headers)
    assert response.status_code == status
    assert response.json()["error"] == error


def test_userinfo_without_or_with_a_bad_token_is_401(client):
    assert client.get("/oauth/userinfo").status_code == 401
    response = client.get("/oauth/userinfo", HTTP_AUTHORIZATION="Bearer nope")
    assert response.status_code == 401
    assert "invalid_token" in response["WWW-Authenticate"]


def test_token_in_the_query_string_is_not_accepted(client):
    response = client.get("/oauth/userinfo?access_token=whatever")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response["WWW-Authenticate"].startswith('Bearer error="invalid_request"')


def test_oversized_form_is_refused_cleanly(client, org):
    machine = make_machine_app(org)
    response = client.post("/oauth/token", {"grant_type": "client_credentials", "junk": "x" * 3_000_000},
                           HTTP_AUTHORIZATION=_basic(machine.client_id, machine.client_secret))
    assert response.status_code in (400, 413)
