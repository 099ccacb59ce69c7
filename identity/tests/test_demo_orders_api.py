"""The demo's Orders API (demo/orders_api.py) against the live server: tokens from client credentials
checked by gatehouse-sdk, its RFC 6750 answers, the README's curl path over seed_demo's data, and the demo
RP's answer when the Orders API is down."""

import io
import threading

import pytest
import requests
from django.core.management import call_command

from applications.api_services import api_create, application_api_scopes_set
from demo import orders_api
from demo.rp import SESSION_COOKIE, Config, DemoRP, Request
from directory.tests.factories import OrganizationFactory
from identity.tests.oidc_support import issuer_settings, make_machine_app

pytestmark = pytest.mark.django_db(transaction=True)

ORDERS = "https://orders.acme.test"
INVOICES = "https://invoices.acme.test"


@pytest.fixture
def orders_server(live_server):
    """The Orders API on a free port, in a thread, trusting the live server as its issuer."""
    with issuer_settings(live_server):
        server = orders_api.make_server("127.0.0.1", 0, issuer=live_server.url)
        # A short poll: shutdown() waits for the next one (0.5 s by default).
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, name="orders-api",
                                  daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)


@pytest.fixture
def reports():
    """A machine client granted orders:read (not orders:write) and, for another audience, invoices:read."""
    org = OrganizationFactory(slug="acme", name="Acme Corp")
    orders = api_create(org=org, name="Orders API", identifier=ORDERS,
                        scopes=[("orders:read", "See your orders"), ("orders:write", "Place and change orders")]).api
    invoices = api_create(org=org, name="Invoices API", identifier=INVOICES,
                          scopes=[("invoices:read", "See your invoices")]).api
    client = make_machine_app(org, client_id="acme-reports")
    application = org.applications.get(client_id="acme-reports")
    application_api_scopes_set(application=application, scopes=[orders.scopes.get(name="orders:read"),
                                                               invoices.scopes.get(name="invoices:read")])
    return client


def client_credentials(live_server, client_id: str, secret: str, **params) -> requests.Response:
    return requests.post(f"{live_server.url}/oauth/token", auth=(client_id, secret),
                         data={"grant_type": "client_credentials", **params}, timeout=10)


def machine_token(live_server, client, **params) -> str:
    response = client_credentials(live_server, client.client_id, client.client_secret, **params)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def get_orders(server, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"{server.url}/orders", headers=headers, timeout=10)


def test_a_reports_token_for_orders_read_lists_the_machines_orders(live_server, orders_server, reports):
    token = machine_token(live_server, reports, scope="orders:read")

    response = get_orders(orders_server, token)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["for"] == {"sub": "acme-reports", "client_id": "acme-reports", "org": None, "kind": "machine"}
    assert body["orders"] == orders_api.sample_orders("acme-reports")
    assert len(body["orders"]) == 3


def test_the_resource_alone_grants_the_machine_its_scopes_of_that_api(live_server, orders_server, reports):
    token = machine_token(live_server, reports, resource=ORDERS)

    assert get_orders(orders_server, token).status_code == 200


def test_no_token_is_401_with_a_bare_bearer_challenge(orders_server):
    response = get_orders(orders_server)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error_description"] == "This resource needs a bearer access token."


def test_a_token_for_another_api_is_401_invalid_token(live_server, orders_server, reports):
    token = machine_token(live_server, reports, scope="invoices:read")

    response = get_orders(orders_server, token)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert response.json()["error"] == "invalid_token"


def test_an_opaque_token_for_gatehouse_alone_is_401_invalid_token(live_server, orders_server, reports):
    token = machine_token(live_server, reports)  # no API asked for: an opaque token, for introspection only

    response = get_orders(orders_server, token)

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token", "error_description": "The token is not a JWT access token."}


def test_placing_an_order_with_orders_read_is_403_insufficient_scope(live_server, orders_server, reports):
    token = machine_token(live_server, reports, scope="orders:read")

    response = requests.post(f"{orders_server.url}/orders", json={"item": "Stapler"},
                             headers={"Authorization": f"Bearer {token}"}, timeout=10)

    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == (
        'Bearer error="insufficient_scope", error_description="The access token lacks the scope orders:write.", '
        'scope="orders:write"')
    assert response.json()["error"] == "insufficient_scope"


def test_a_token_in_the_url_is_400_and_never_read(live_server, orders_server, reports):
    token = machine_token(live_server, reports, scope="orders:read")

    response = requests.get(f"{orders_server.url}/orders", params={"access_token": token}, timeout=10)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_the_readmes_curl_path_over_seed_demos_data(settings, monkeypatch, live_server, orders_server):
    settings.EMBEDDED = True
    monkeypatch.delenv("GATEHOUSE_ADMIN_PASSWORD", raising=False)
    call_command("seed_demo", stdout=io.StringIO())

    granted = client_credentials(live_server, "acme-reports", "acme-reports-secret", scope="orders:read")
    with_openid = client_credentials(live_server, "acme-reports", "acme-reports-secret", scope="openid orders:read")
    writing = client_credentials(live_server, "acme-reports", "acme-reports-secret", scope="orders:write")
    plain = client_credentials(live_server, "acme-reports", "acme-reports-secret")

    assert granted.status_code == 200, granted.text
    assert granted.json()["scope"] == "orders:read"
    assert granted.json()["expires_in"] == 600
    listed = get_orders(orders_server, granted.json()["access_token"])
    assert listed.status_code == 200
    assert listed.json()["for"]["client_id"] == "acme-reports"
    # A machine signs nobody in: openid is refused outright, and never added to what it gets.
    assert with_openid.status_code == 400
    assert with_openid.json()["error"] == "invalid_scope"
    assert writing.status_code == 400
    assert writing.json()["error"] == "invalid_scope"
    assert plain.status_code == 200
    assert "openid" not in plain.json()["scope"].split()


def test_the_demo_rp_says_so_when_the_orders_api_is_down():
    app = DemoRP(Config(issuer="http://127.0.0.1:9", client_id="hr-portal", client_secret="secret",
                        redirect_uri="http://127.0.0.1:4003/auth/callback",
                        post_logout_redirect_uri="http://127.0.0.1:4003/", orders_api_url="http://127.0.0.1:9"))
    session_id, session = app.sessions.create()
    session.token = {"access_token": "a.b.c"}

    response = app.handle(Request(method="POST", path="/orders", query={}, form={"csrf": session.csrf},
                                  cookies={SESSION_COOKIE: session_id}, url="http://127.0.0.1:4003/orders"))

    assert response.status == 502
    page = response.body.decode()
    assert "<h1>The Orders API is not reachable</h1>" in page
    assert "GET http://127.0.0.1:9/orders failed (ConnectionError)." in page
    assert session.token == {"access_token": "a.b.c"}  # still signed in
