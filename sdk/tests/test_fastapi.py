"""gatehouse-sdk on FastAPI and Starlette (ASGI middleware + dependencies), against a live issuer."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from gatehouse_sdk import ResourceServer
from starlette.websockets import WebSocketDisconnect

from .fastapi_app import make_fastapi, make_starlette
from .issuer import API_CLIENT, AUDIENCE, refused_tokens
from .test_django import REFUSED

PROTECTED = ["/orders", "/sync/orders"]


@pytest.fixture
def client(server):
    with TestClient(make_fastapi(server)) as client:
        yield client


def get(client, path: str, token: str | None = None, **headers: str):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.get(path, headers=headers)


@pytest.mark.parametrize("path", PROTECTED)
def test_a_valid_token_is_accepted(client, issuer, path):
    response = get(client, path, issuer.mint())

    assert response.status_code == 200
    assert response.json() == {"sub": "user-42", "client_id": "orders-web", "scopes": ["openid", "orders:read"],
                               "org": "acme"}


@pytest.mark.parametrize("case", REFUSED)
def test_a_bad_token_is_401_invalid_token(client, issuer, case):
    response = get(client, "/orders", refused_tokens(issuer)[case])

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token", error_description="')
    assert response.json()["error"] == "invalid_token"


@pytest.mark.parametrize("path", PROTECTED)
def test_a_missing_scope_is_403(client, issuer, path):
    response = get(client, path, issuer.mint(scope="openid profile"))

    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", error_description="The access token lacks the scope orders:read.", '
        'scope="orders:read"'
    )
    assert response.json() == {"detail": "The access token lacks the scope orders:read."}


def test_require_role(client, issuer):
    refused = get(client, "/admin", issuer.mint())

    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert get(client, "/admin", issuer.mint(roles=["orders:admin"])).status_code == 200


def test_require_fresh_auth(client, issuer):
    now = int(time.time())

    assert get(client, "/payments", issuer.mint(auth_time=now - 10)).status_code == 200
    for token in (issuer.mint(auth_time=now - 900), issuer.mint(sub="orders-web", auth_time=None)):
        response = get(client, "/payments", token)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith('Bearer error="insufficient_user_authentication"')
        assert response.headers["WWW-Authenticate"].endswith('max_age="300"')


@pytest.mark.parametrize("path", [*PROTECTED, "/me"])
def test_no_token_is_401_with_a_bare_challenge(client, path):
    response = get(client, path)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_route_without_a_dependency_stays_public(client, issuer):
    assert get(client, "/public").json() == {"token": None}
    assert get(client, "/public", issuer.mint()).json()["sub"] == "user-42"


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer two tokens", "Bearer t\u00f6ken".encode("latin-1")])
def test_a_malformed_authorization_header_is_400(client, authorization):
    response = client.get("/public", headers={"Authorization": authorization})

    assert response.status_code == 400
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_request"')
    assert response.json()["error"] == "invalid_request"


def test_two_authorization_headers_are_400(client, issuer):
    token = issuer.mint()
    response = client.get("/orders", headers=[("Authorization", f"Bearer {token}"), ("Authorization", "Bearer x")])

    assert response.status_code == 400
    assert response.json()["error_description"] == "Send one Authorization header."


def test_a_token_in_the_query_string_is_refused(client, issuer):
    response = client.get("/orders", params={"access_token": issuer.mint()})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_new_kid_after_rotation_is_fetched(client, issuer, clock):
    assert get(client, "/orders", issuer.mint()).status_code == 200
    issuer.rotate(keep_old=False)
    assert get(client, "/orders", issuer.mint()).status_code == 401  # too soon after the last fetch
    clock.advance(11)

    assert get(client, "/orders", issuer.mint()).status_code == 200
    assert issuer.hits["/.well-known/jwks.json"] == 2


def test_an_issuer_that_is_down_is_503(client, issuer):
    token = issuer.mint()
    issuer.stop()

    response = get(client, "/orders", token)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "10"
    assert response.json()["error"] == "temporarily_unavailable"


def test_an_opaque_token_is_introspected_once_then_cached(client, issuer, clock):
    token = issuer.opaque()
    for _ in range(3):
        assert get(client, "/orders", token).status_code == 200
    assert issuer.hits["/oauth/introspect/"] == 1

    clock.advance(31)
    assert get(client, "/orders", token).status_code == 200
    assert issuer.hits["/oauth/introspect/"] == 2


def test_starlette_sees_the_token_in_request_state(issuer):
    server = ResourceServer(issuer=issuer.url, audience=AUDIENCE,
                            introspection_client_id=API_CLIENT[0], introspection_client_secret=API_CLIENT[1])
    with TestClient(make_starlette(server)) as client:
        assert get(client, "/whoami", issuer.mint()).json()["sub"] == "user-42"
        assert get(client, "/whoami").json() == {"token": None}
        assert get(client, "/whoami", issuer.mint(exp=1)).status_code == 401


def test_a_websocket_with_a_bad_token_is_closed(server, issuer):
    with TestClient(make_starlette(server)) as client, pytest.raises(WebSocketDisconnect) as closed:  # noqa: SIM117
        with client.websocket_connect("/whoami", headers={"Authorization": "Bearer not-a-jwt"}):
            pass

    assert closed.value.code == 1008
