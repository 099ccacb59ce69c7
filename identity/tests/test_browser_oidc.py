"""The demo relying party (demo/rp.py) in a real browser: sign in through Gatehouse's login and consent
pages, see the verified claims, refresh, sign out with RP-initiated logout."""

import re
import threading

import pytest
from oauth2_provider.models import get_access_token_model
from playwright.sync_api import expect

from applications.api_services import api_create, application_api_scopes_set
from applications.models import Consent
from applications.services import application_create
from demo import orders_api
from demo.rp import make_server
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory
from identity.models import UserSession
from identity.signing import signing_key_cache_clear
from identity.tests.oidc_support import issuer_settings

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CLIENT_ID = "hr-portal-browser-test"
CLIENT_SECRET = "a-long-random-secret-for-the-browser-test-only"


@pytest.fixture
def demo_rp(live_server):
    """The demo RP on a free port, in a thread, pointed at the live server as its issuer; the demo's
    Orders API beside it, as `make demo-rp` serves them."""
    signing_key_cache_clear()
    with issuer_settings(live_server):
        api_server = orders_api.make_server("127.0.0.1", 0, issuer=live_server.url)
        api_thread = threading.Thread(target=api_server.serve_forever, name="orders-api", daemon=True)
        api_thread.start()
        server = make_server("127.0.0.1", 0, issuer=live_server.url, client_id=CLIENT_ID,
                             client_secret=CLIENT_SECRET, orders_api_url=api_server.url)
        thread = threading.Thread(target=server.serve_forever, name="demo-rp", daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
            api_server.shutdown()
            api_server.server_close()
            api_thread.join(timeout=10)


@pytest.fixture
def alice(db):
    org = OrganizationFactory(slug="acme", name="Acme Corp")
    return MembershipFactory(org=org, user=UserFactory(email="alice@acme.test", full_name="Alice Anderson")).user


@pytest.fixture
def hr_portal(demo_rp, alice):
    """A web application registered for the demo RP's port; not trusted, so consent is asked."""
    config = demo_rp.app.config
    created = application_create(org=alice.memberships.get().org, name="HR Portal", kind="web",
                                 redirect_uris=[config.redirect_uri], client_id=CLIENT_ID,
                                 client_secret=CLIENT_SECRET)
    application = created.application
    application.post_logout_redirect_uris = config.post_logout_redirect_uri
    application.save(update_fields=["post_logout_redirect_uris"])
    # The demo RP asks for orders:read, as seed_demo grants it to hr-portal.
    orders = api_create(org=application.org, name="Orders API", identifier=orders_api.AUDIENCE,
                        scopes=[("orders:read", "See your orders"), ("orders:write", "Place and change orders")]).api
    application_api_scopes_set(application=application, scopes=orders.scopes.filter(name="orders:read"))
    return application


def test_sign_in_consent_claims_refresh_and_sign_out_through_the_demo_rp(
    live_server, demo_rp, hr_portal, alice, browser_page, console_messages
):
    page = browser_page
    rp = demo_rp.url

    page.goto(f"{rp}/")
    expect(page.get_by_role("heading", name="HR Portal (demo)")).to_be_visible()
    page.get_by_role("button", name="Sign in with Gatehouse").click()

    # Gatehouse's hosted sign-in page, on its own origin.
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/login\?next=/oauth/authorize"))
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()

    # HR Portal is not trusted: Gatehouse asks first.
    expect(page.get_by_role("heading", name="Allow HR Portal?")).to_be_visible()
    expect(page.get_by_text("See your email address")).to_be_visible()
    page.screenshot(path="/tmp/oidc-consent.png", full_page=True)
    page.get_by_role("button", name="Allow").click()

    # Back on the RP, which verified the ID token with the JWKS and fetched userinfo.
    expect(page).to_have_url(f"{rp}/")
    expect(page.get_by_role("heading", name="Signed in as Alice Anderson")).to_be_visible()
    expect(page.get_by_text("Signed in: the ID token verified and userinfo agrees with it.")).to_be_visible()
    id_token_table = page.get_by_role("table", name=re.compile("^ID token claims"))
    expect(id_token_table.get_by_role("row", name=re.compile(r"^email\s"))).to_contain_text("alice@acme.test")
    expect(id_token_table.get_by_role("row", name=re.compile(r"^org\s"))).to_contain_text('"slug": "acme"')
    expect(id_token_table.get_by_role("row", name=re.compile(r"^iss\s"))).to_contain_text(live_server.url)
    userinfo_table = page.get_by_role("table", name="Userinfo response")
    expect(userinfo_table.get_by_role("row", name=re.compile(r"^email\s"))).to_contain_text("alice@acme.test")
    page.screenshot(path="/tmp/oidc-signed-in.png", full_page=True)
    assert Consent.objects.filter(user=alice, application=hr_portal).exists()

    page.get_by_role("button", name="Refresh tokens").click()
    expect(page.get_by_text(re.compile(r"^Tokens refreshed: a new access token .* and a new refresh token"))) \
        .to_be_visible()
    expect(page.get_by_text("refreshed 1 time")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()

    # RP-initiated logout with the (refreshed) ID token as hint: no question asked, straight back.
    expect(page).to_have_url(re.compile(rf"^{re.escape(rp)}/\?state="))
    expect(page.get_by_text("You are signed out of the demo and of Gatehouse.")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in with Gatehouse")).to_be_visible()
    page.screenshot(path="/tmp/oidc-signed-out.png", full_page=True)
    sessions = UserSession.objects.filter(user=alice)
    assert sessions.count() == 1
    assert sessions.get().ended_at is not None
    assert not get_access_token_model().objects.filter(user=alice, application=hr_portal).exists()
    # And Gatehouse's own pages now want a sign-in again.
    page.goto(f"{live_server.url}/account/")
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/login"))

    assert [message for message in console_messages if "Content Security Policy" in message] == []
    assert [message for message in console_messages if message.startswith("pageerror")] == []


def test_denying_consent_shows_the_demo_rps_error_page(live_server, demo_rp, hr_portal, alice, browser_page,
                                                       console_messages):
    page = browser_page

    page.goto(f"{demo_rp.url}/")
    page.get_by_role("button", name="Sign in with Gatehouse").click()
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Allow HR Portal?")).to_be_visible()
    page.get_by_role("button", name="Deny").click()

    # Gatehouse answers access_denied at the redirect URI; the RP says so and holds no tokens.
    expect(page).to_have_url(re.compile(rf"^{re.escape(demo_rp.url)}/auth/callback\?error=access_denied"))
    expect(page.get_by_role("heading", name="Gatehouse did not sign you in")).to_be_visible()
    expect(page.locator("p.error")).to_have_text("access_denied")
    page.screenshot(path="/tmp/oidc-denied.png", full_page=True)
    assert not Consent.objects.filter(user=alice, application=hr_portal).exists()
    page.get_by_role("link", name="Back to the start page").click()
    expect(page.get_by_role("button", name="Sign in with Gatehouse")).to_be_visible()

    assert [message for message in console_messages if "Content Security Policy" in message] == []


def test_the_demo_rp_calls_the_orders_api_with_the_users_token(live_server, demo_rp, hr_portal, alice, browser_page,
                                                                console_messages, failed_responses):
    page = browser_page

    page.goto(f"{demo_rp.url}/")
    page.get_by_role("button", name="Sign in with Gatehouse").click()
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    # The consent page names the API scope with the description its API gave it.
    expect(page.get_by_role("heading", name="Allow HR Portal?")).to_be_visible()
    expect(page.get_by_text("See your orders")).to_be_visible()
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading", name="Signed in as Alice Anderson")).to_be_visible()

    # Before any call: what the access token is for, read from it (the Orders API is what verifies it).
    token_table = page.get_by_role("table", name=re.compile("^Access token claims"))
    expect(token_table.get_by_role("row", name=re.compile(r"^aud\s"))).to_contain_text("https://orders.acme.test")
    expect(token_table.get_by_role("row", name=re.compile(r"^scope\s"))).to_contain_text("orders:read")
    expect(token_table.get_by_role("row", name=re.compile(r"^exp\s"))).to_contain_text("UTC")

    page.get_by_role("button", name="Call the Orders API").click()

    expect(page.get_by_text("The Orders API answered 200 OK.")).to_be_visible()
    orders = orders_api.sample_orders(str(alice.public_id))
    rows = page.get_by_role("table", name="Your orders").get_by_role("row")
    expect(rows).to_have_count(1 + len(orders))
    expect(rows.nth(1)).to_contain_text(orders[0]["item"])
    response_json = page.get_by_label("The Orders API's JSON response")
    expect(response_json).to_contain_text(f'"sub": "{alice.public_id}"')
    expect(response_json).to_contain_text('"client_id": "hr-portal-browser-test"')
    expect(response_json).to_contain_text('"kind": "person"')
    page.screenshot(path="/tmp/oidc-orders-api.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path="/tmp/oidc-orders-api-phone.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    assert failed_responses == []
    assert [message for message in console_messages if "Content Security Policy" in message] == []
