"""gatehouse-sdk against a live Gatehouse (issue #10 part 4): a FastAPI API protected by the SDK's ASGI
middleware, fed tokens Gatehouse really issued, with keys from its real discovery and JWKS.

The SDK's own suite (sdk/tests) covers each framework against a local stand-in issuer; this proves the two
agree on the wire: accepted, wrong audience, wrong issuer, expired, a key rotation (unknown kid, refetched),
a missing scope, and tokens that are not access tokens."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from gatehouse_sdk import AccessToken, ResourceServer
from gatehouse_sdk.asgi import GatehouseMiddleware, require_scope

from applications.api_services import api_create, application_api_scopes_set
from applications.models import ApiScope, Application
from identity.signing import signing_key_rotate
from identity.tests.oidc_support import RelyingParty, issuer_settings, make_machine_app, make_web_app, sign_in_code

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = "https://orders.acme.test"


@pytest.fixture
def oidc(live_server):
    with issuer_settings(live_server):
        yield live_server


@pytest.fixture
def machine(oidc, org):
    api_create(org=org, name="Orders", identifier=ORDERS,
               scopes=[("orders:read", "See your orders"), ("orders:write", "Place orders")])
    client = make_machine_app(org)
    application_api_scopes_set(application=Application.objects.get(client_id=client.client_id),
                               scopes=ApiScope.objects.filter(name="orders:read"))
    return client


def api(oidc, *, audience: str = ORDERS, issuer: str | None = None, clock=time.time) -> TestClient:
    server = ResourceServer(issuer=issuer or oidc.url, audience=audience, clock=clock)
    app = FastAPI()
    app.add_middleware(GatehouseMiddleware, server=server)

    @app.get("/orders")
    async def orders(token: AccessToken = Depends(require_scope("orders:read"))) -> dict:  # noqa: B008
        return {"sub": token.sub, "client_id": token.client_id, "scopes": sorted(token.scopes)}

    @app.post("/orders")
    async def place(token: AccessToken = Depends(require_scope("orders:write"))) -> dict:  # noqa: B008
        return {"placed": True}

    return TestClient(app)


def machine_token(oidc, machine, **data) -> str:
    answer = requests.post(f"{oidc.url}/oauth/token", data={"grant_type": "client_credentials", **data},
                           auth=(machine.client_id, machine.client_secret), timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_a_machines_token_is_accepted_and_a_missing_scope_is_403(oidc, machine):
    client, token = api(oidc), machine_token(oidc, machine, scope="orders:read")
    answer = client.get("/orders", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"sub": machine.client_id, "client_id": machine.client_id, "scopes": ["orders:read"]}
    refused = client.post("/orders", headers=bearer(token))
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]


def test_a_persons_token_is_accepted(oidc, org, org_admin, sign_in, machine):
    web = make_web_app(org)
    application_api_scopes_set(application=Application.objects.get(client_id=web.client_id),
                               scopes=ApiScope.objects.filter(name="orders:read"))
    rp = RelyingParty(oidc, web, scope="openid orders:read")
    token = rp.fetch_token(sign_in_code(rp, sign_in(org_admin)))["access_token"]
    answer = api(oidc).get("/orders", headers=bearer(token))
    assert answer.status_code == 200, answer.text
    assert answer.json()["sub"] == str(org_admin.public_id)


@pytest.fixture
def other_issuer(oidc):
    """Another issuer that publishes Gatehouse's very keys: a token Gatehouse signed verifies, but its iss
    is not this issuer's."""
    document: dict = {}

    class Discovery(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            body = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Discovery)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    document.update(issuer=url, jwks_uri=f"{oidc.url}/.well-known/jwks.json")
    # A short poll: shutdown() waits for the next one (0.5 s by default).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("case", ["audience", "issuer", "expired", "id_token"])
def test_tokens_the_api_must_refuse(oidc, org, org_admin, sign_in, machine, other_issuer, case):
    token = machine_token(oidc, machine, scope="orders:read")
    if case == "audience":
        client = api(oidc, audience="https://billing.acme.test")
    elif case == "issuer":
        client = api(oidc, issuer=other_issuer)
    elif case == "expired":
        client = api(oidc, clock=lambda: time.time() + 601 + 30)  # past the 10 minutes and the leeway
    else:
        rp = RelyingParty(oidc, make_web_app(org))
        token = rp.fetch_token(sign_in_code(rp, sign_in(org_admin)))["id_token"]  # not an access token
        client = api(oidc)
    answer = client.get("/orders", headers=bearer(token))
    assert answer.status_code == 401, answer.text
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]


def test_a_key_rotation_is_followed_through_an_unknown_kid(oidc, machine):
    client = api(oidc)
    before = machine_token(oidc, machine, scope="orders:read")
    assert client.get("/orders", headers=bearer(before)).status_code == 200  # the SDK has fetched JWKS
    signing_key_rotate(force=True)  # the emergency rotation: a new kid signs from now on
    after = machine_token(oidc, machine, scope="orders:read")
    assert after.split(".")[0] != before.split(".")[0]
    answer = client.get("/orders", headers=bearer(after))
    assert answer.status_code == 200, answer.text
