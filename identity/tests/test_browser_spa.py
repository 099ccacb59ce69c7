"""A public client in a real browser: the test SPA in identity/tests/spa/ runs the vendored oidc-client-ts
against the live server — sign in with PKCE through the hosted login and consent pages, revokeTokens(),
signoutRedirect() to a loopback post-logout URI, then signinSilent() without a session."""

import hashlib
import json
import re
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from oauth2_provider.models import get_access_token_model, get_refresh_token_model
from playwright.sync_api import expect

from applications.services import application_create
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory
from identity.models import UserSession
from identity.tests.oidc_support import issuer_settings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SPA_DIR = Path(__file__).parent / "spa"
CLIENT_ID = "photo-board-spa-test"


class SpaHandler(SimpleHTTPRequestHandler):
    """The SPA's files, plus /config.json made for this run (the ports are only known now)."""

    def do_GET(self):
        if urlparse(self.path).path == "/config.json":
            body = json.dumps(self.server.spa_config).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def gatehouse(live_server):
    """The live server's URL by its address, 127.0.0.1 like the SPA's, and Gatehouse's issuer.

    live_server.url says "localhost", another site than 127.0.0.1 to the browser: its SameSite=Lax session
    cookie would then never reach the silent sign-in's iframe, and login_required would prove nothing.
    """
    url = live_server.url.replace("://localhost:", "://127.0.0.1:")
    assert url.startswith("http://127.0.0.1:")
    with issuer_settings(SimpleNamespace(url=url)):
        yield url


@pytest.fixture
def spa(gatehouse):
    """The test SPA served from 127.0.0.1 on a free port, configured with Gatehouse as its authority."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SpaHandler, directory=str(SPA_DIR)))
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    server.spa_config = {
        "authority": gatehouse,
        "client_id": CLIENT_ID,
        "redirect_uri": f"{origin}/callback.html",
        "post_logout_redirect_uri": f"{origin}/",
        "silent_redirect_uri": f"{origin}/silent.html",
    }
    thread = threading.Thread(target=server.serve_forever, name="spa", daemon=True)
    thread.start()
    try:
        yield origin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def alice(db):
    org = OrganizationFactory(slug="acme", name="Acme Corp")
    return MembershipFactory(org=org, user=UserFactory(email="alice@acme.test", full_name="Alice Anderson")).user


@pytest.fixture
def photo_board(spa, alice):
    """A public (spa) application for the SPA's origin; not trusted, so consent is asked."""
    return application_create(
        org=alice.memberships.get().org, name="Photo Board", kind="spa", client_id=CLIENT_ID,
        redirect_uris=[f"{spa}/callback.html", f"{spa}/silent.html"], post_logout_redirect_uris=[f"{spa}/"],
        allowed_origins=[spa],
    ).application


def test_oidc_client_ts_signs_in_revokes_signs_out_and_then_gets_login_required_silently(
    gatehouse, spa, photo_board, alice, browser_page, console_messages
):
    page = browser_page
    issuer = gatehouse
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    revocations = []
    page.on("response", lambda response: revocations.append(response)
            if response.url == f"{issuer}/oauth/revoke" and response.request.method == "POST" else None)

    page.goto(f"{spa}/")
    expect(page.get_by_role("status")).to_have_text("Not signed in.")
    page.get_by_role("button", name="Sign in", exact=True).click()

    # Gatehouse's hosted sign-in page, then its consent page: Photo Board is not trusted.
    expect(page).to_have_url(re.compile(rf"^{re.escape(issuer)}/login\?next=/oauth/authorize"))
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Allow Photo Board?")).to_be_visible()
    page.get_by_role("button", name="Allow").click()

    # Back on the SPA's loopback callback; oidc-client-ts exchanged the code (PKCE) and verified the
    # ID token; the profile it shows merges the ID token and userinfo.
    expect(page.get_by_role("status")).to_have_text("Signed in as alice@acme.test")
    callback = parse_qs(urlparse(next(url for url in navigations if url.startswith(f"{spa}/callback.html"))).query)
    assert callback["iss"] == [issuer]
    claims = page.get_by_role("table", name="Profile claims")
    expect(claims.get_by_role("row", name=re.compile(r"^email\s"))).to_contain_text("alice@acme.test")
    expect(claims.get_by_role("row", name=re.compile(r"^name\s"))).to_contain_text("Alice Anderson")
    expect(claims.get_by_role("row", name=re.compile(r"^iss\s"))).to_contain_text(issuer)
    stored = json.loads(page.evaluate(f"sessionStorage.getItem('oidc.user:{issuer}:{CLIENT_ID}')"))
    access_token = stored["access_token"]
    expect(page.get_by_text("Access token fingerprint:")).to_have_text(
        f"Access token fingerprint: {hashlib.sha256(access_token.encode()).hexdigest()[:16]}")
    userinfo = requests.get(f"{issuer}/oauth/userinfo", headers={"Authorization": f"Bearer {access_token}"},
                            timeout=10)
    assert userinfo.status_code == 200
    assert userinfo.json()["email"] == "alice@acme.test"

    # revokeTokens() posts the access token, then the refresh token; each answer is an empty 200 that
    # the library accepts.
    page.get_by_role("button", name="Revoke tokens").click()
    expect(page.get_by_role("alert")).to_have_text("Tokens revoked.")
    assert [parse_qs(response.request.post_data)["token_type_hint"] for response in revocations] == [
        ["access_token"], ["refresh_token"]]
    for response in revocations:
        assert (response.status, response.body()) == (200, b"")
        assert "text/html" not in response.headers.get("content-type", "")
        assert response.headers["access-control-allow-origin"] == spa
    userinfo = requests.get(f"{issuer}/oauth/userinfo", headers={"Authorization": f"Bearer {access_token}"},
                            timeout=10)
    assert userinfo.status_code == 401
    assert not get_access_token_model().objects.filter(user=alice, application=photo_board).exists()
    assert not get_refresh_token_model().objects.filter(user=alice, application=photo_board,
                                                        revoked__isnull=True).exists()

    # While the Gatehouse session lives, signinSilent() (prompt=none in a hidden iframe; revokeTokens() left
    # no refresh token to use instead) gets a new code and new tokens without showing anything.
    page.get_by_role("button", name="Check session silently").click()
    expect(page.get_by_role("alert")).to_have_text("Silent sign-in succeeded as alice@acme.test.")
    silent = parse_qs(urlparse([url for url in navigations if url.startswith(f"{spa}/silent.html")][-1]).query)
    assert (sorted(silent), silent["iss"]) == (["code", "iss", "state"], [issuer])
    expect(page.get_by_text("Access token fingerprint:")).not_to_have_text(
        f"Access token fingerprint: {hashlib.sha256(access_token.encode()).hexdigest()[:16]}")

    # signoutRedirect(): Gatehouse ends its session and sends the browser to the loopback post-logout URI.
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(spa)}/\?state="))
    expect(page.get_by_role("status")).to_have_text("Signed out.")
    assert UserSession.objects.get(user=alice).ended_at is not None
    assert not get_access_token_model().objects.filter(user=alice, application=photo_board).exists()
    page.goto(f"{issuer}/account/")
    expect(page).to_have_url(re.compile(rf"^{re.escape(issuer)}/login"))

    # signinSilent() (prompt=none in a hidden iframe) now gets login_required, with `iss`, which the
    # SPA checks before handing the answer over; a refused answer would end in a timeout instead.
    page.goto(f"{spa}/")
    expect(page.get_by_role("status")).to_have_text("Not signed in.")
    page.get_by_role("button", name="Check session silently").click()
    expect(page.get_by_role("alert")).to_have_text("Silent sign-in answered: login_required")
    silent = parse_qs(urlparse([url for url in navigations if url.startswith(f"{spa}/silent.html")][-1]).query)
    assert (silent["error"], silent["iss"]) == (["login_required"], [issuer])

    assert [message for message in console_messages if "Content Security Policy" in message] == []
    assert [message for message in console_messages if message.startswith(("error", "pageerror"))] == []
