"""gatehouse-sdk on Django: the middleware, the view decorators and the DRF classes, against a live issuer."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from rest_framework.test import APIClient

from .issuer import API_CLIENT, AUDIENCE, refused_tokens

PROTECTED = ["/orders", "/async/orders", "/drf/orders"]
REFUSED = [
    "expired", "wrong audience", "wrong issuer", "alg none", "HS256 with the public key", "wrong typ",
    "an ID token", "wrong shape", "huge", "unknown kid", "forged",
]


@pytest.fixture(autouse=True)
def gatehouse_settings(settings, issuer, clock):
    settings.GATEHOUSE_SDK = {
        "ISSUER": issuer.url,
        "AUDIENCE": AUDIENCE,
        "INTROSPECTION_CLIENT_ID": API_CLIENT[0],
        "INTROSPECTION_CLIENT_SECRET": API_CLIENT[1],
        "CLOCK": clock,
    }


@pytest.fixture(params=["django", "drf"])
def http(request):
    return Client() if request.param == "django" else APIClient()


def get(client, path: str, token: str | None = None, **headers: str):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.get(path, headers=headers)


@pytest.mark.parametrize("path", PROTECTED)
def test_a_valid_token_is_accepted(http, issuer, path):
    response = get(http, path, issuer.mint())

    assert response.status_code == 200
    assert response.json() == {"sub": "user-42", "client_id": "orders-web", "scopes": ["openid", "orders:read"],
                               "org": "acme"}


@pytest.mark.parametrize("path", PROTECTED)
@pytest.mark.parametrize("case", REFUSED)
def test_a_bad_token_is_401_invalid_token(http, issuer, path, case):
    response = get(http, path, refused_tokens(issuer)[case])

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token", error_description="')
    assert response.json()["error"] == "invalid_token"


def test_every_refused_case_is_tested(issuer):
    assert sorted(refused_tokens(issuer)) == sorted(REFUSED)


@pytest.mark.parametrize("path", PROTECTED)
def test_a_missing_scope_is_403(http, issuer, path):
    response = get(http, path, issuer.mint(scope="openid profile"))

    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", error_description="The access token lacks the scope orders:read.", '
        'scope="orders:read"'
    )
    assert response.json() == {"error": "insufficient_scope",
                               "error_description": "The access token lacks the scope orders:read."}


@pytest.mark.parametrize("path", ["/admin", "/drf/admin"])
def test_require_role(http, issuer, path):
    refused = get(http, path, issuer.mint())
    allowed = get(http, path, issuer.mint(roles=["orders:viewer", "orders:admin"]))

    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert refused.json()["error_description"] == "This resource needs the app role orders:admin."
    assert allowed.status_code == 200


@pytest.mark.parametrize("path", ["/payments", "/drf/payments"])
def test_require_fresh_auth(http, issuer, path):
    now = int(time.time())
    fresh = get(http, path, issuer.mint(auth_time=now - 299))
    stale = get(http, path, issuer.mint(auth_time=now - 900))
    machine = get(http, path, issuer.mint(sub="orders-web", auth_time=None))

    assert fresh.status_code == 200
    for response in (stale, machine):
        assert response.status_code == 401
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer error="insufficient_user_authentication"')
        assert challenge.endswith('max_age="300"')
    assert "signed in 900 seconds ago" in stale.json()["error_description"]
    assert "no auth_time" in machine.json()["error_description"]


@pytest.mark.parametrize("path", [*PROTECTED, "/me", "/drf/me"])
def test_no_token_is_401_with_a_bare_challenge(http, path):
    response = get(http, path)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_view_without_a_decorator_stays_public(issuer):
    client = Client()

    assert get(client, "/public").json() == {"token": None}
    assert get(client, "/public", issuer.mint()).json()["sub"] == "user-42"
    assert get(client, "/public", Authorization="Basic dXNlcjpwYXNz").json() == {"token": None}


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer ", "Bearer two tokens", "Bearer t\u00f6ken"])
@pytest.mark.parametrize("path", ["/public", "/orders", "/drf/orders"])
def test_a_malformed_authorization_header_is_400(http, path, authorization):
    response = http.get(path, headers={"Authorization": authorization})

    assert response.status_code == 400
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_request"')
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("path", ["/public", "/orders", "/drf/orders"])
def test_a_token_in_the_query_string_is_refused(http, issuer, path):
    response = http.get(f"{path}?access_token={issuer.mint()}")

    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "Send the access token in the Authorization header, not in the URL.",
    }


@pytest.mark.parametrize("path", PROTECTED)
def test_a_new_kid_after_rotation_is_fetched(http, issuer, clock, path):
    assert get(http, path, issuer.mint()).status_code == 200
    issuer.rotate(keep_old=False)
    clock.advance(11)

    assert get(http, path, issuer.mint()).status_code == 200
    assert issuer.hits["/.well-known/jwks.json"] == 2


@pytest.mark.parametrize("path", ["/public", *PROTECTED])
def test_an_issuer_that_is_down_is_503(http, issuer, path):
    token = issuer.mint()
    issuer.stop()

    response = get(http, path, token)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "10"
    assert response.json()["error"] == "temporarily_unavailable"
    assert "could not be reached" in response.json()["error_description"]


@pytest.mark.parametrize("path", PROTECTED)
def test_an_opaque_token_is_introspected(http, issuer, path):
    assert get(http, path, issuer.opaque()).status_code == 200
    assert get(http, path, "gho_unknown").status_code == 401
    assert get(http, path, issuer.opaque(aud="https://another-api.example.test")).status_code == 401


def test_decorators_work_without_the_middleware(settings, issuer):
    settings.MIDDLEWARE = []
    client = Client()

    assert get(client, "/orders", issuer.mint()).status_code == 200
    assert get(client, "/orders", issuer.mint(aud="https://another-api.example.test")).status_code == 401
    assert get(client, "/drf/orders", issuer.mint(scope="openid")).status_code == 403
    assert client.get(f"/orders?access_token={issuer.mint()}").status_code == 400


def test_drf_gives_views_a_token_user(issuer):
    response = get(APIClient(), "/drf/me", issuer.mint())

    assert response.json()["user"] == "user-42"
