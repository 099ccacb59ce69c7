"""A sign-in that an application started answers with the application's code (identity/oidc/authorize.py,
authorize_inline): the browser is not sent back to /oauth/authorize only to be redirected on. Where
/oauth/authorize would show a page (consent, a refusal, an error), the sign-in redirects there as before, and
that page is answered once, at its own address."""

import pytest
from django.test import Client as BrowserClient

from applications.models import Application
from applications.services import application_disable
from audit.models import AuditEvent
from directory.tests.factories import GroupFactory
from identity.models import UserSession
from identity.tests.html_forms import hidden_input
from identity.tests.oidc_support import RelyingParty, issuer_settings, make_web_app, query_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def oidc(live_server):
    with issuer_settings(live_server):
        yield live_server


def _sign_in_page(browser, rp, **params) -> str:
    """The app sends the browser to /oauth/authorize, which sends it to the sign-in page: its `next`."""
    start = browser.get(rp.path_of(rp.authorization_url(**params)))
    assert start.status_code == 302
    assert start["Location"].startswith("/login?")
    return hidden_input(browser.get(start["Location"]), "next")


def _post_password(browser, user, password, next_url):
    return browser.post("/login", {"email": user.email, "password": password, "next": next_url},
                        REMOTE_ADDR="203.0.113.9")


def test_the_sign_in_answers_with_the_code_of_this_session_once_audited(oidc, org, org_member, password):
    rp = RelyingParty(oidc, make_web_app(org))
    browser = BrowserClient()
    next_url = _sign_in_page(browser, rp)

    signed_in = _post_password(browser, org_member, password, next_url)

    assert signed_in.status_code == 302
    callback = signed_in["Location"]
    assert callback.startswith(f"{rp.client.redirect_uri}?")
    assert query_of(callback)["state"] == rp.state
    assert query_of(callback)["iss"] == oidc.url
    claims = rp.verify_id_token(rp.fetch_token(callback)["id_token"])
    session = UserSession.objects.get(user=org_member)
    assert (claims["sub"], claims["sid"], claims["amr"]) == (str(org_member.public_id), session.sid, ["pwd"])
    assert claims["auth_time"] == int(session.auth_time.timestamp())
    authorized = AuditEvent.objects.get(action="login.authorized")
    assert (authorized.org, authorized.actor, str(authorized.ip)) == (org, org_member, "203.0.113.9")
    assert authorized.metadata["sid"] == session.sid
    # The browser is signed in: asking again gives another code without a password.
    again = browser.get(rp.path_of(rp.authorization_url()))
    assert again["Location"].startswith(f"{rp.client.redirect_uri}?")


def test_a_fragment_response_mode_is_kept(oidc, org, org_member, password):
    rp = RelyingParty(oidc, make_web_app(org))
    browser = BrowserClient()

    signed_in = _post_password(browser, org_member, password, _sign_in_page(browser, rp, response_mode="fragment"))

    base, _, fragment = signed_in["Location"].partition("#")
    assert base == rp.client.redirect_uri
    assert "code=" in fragment
    assert f"state={rp.state}" in fragment


def test_form_post_answers_the_auto_submitting_form_the_app_allows(oidc, org, org_member, password):
    rp = RelyingParty(oidc, make_web_app(org))
    browser = BrowserClient()

    signed_in = _post_password(browser, org_member, password, _sign_in_page(browser, rp, response_mode="form_post"))

    assert signed_in.status_code == 200
    assert "no-store" in signed_in["Cache-Control"]
    assert "https://rp.example" in signed_in["Content-Security-Policy"].split("form-action")[1].split(";")[0]
    page = signed_in.content.decode()
    assert f'action="{rp.client.redirect_uri}"' in page
    assert hidden_input(signed_in, "state") == rp.state
    claims = rp.verify_id_token(rp.fetch_token(
        f"{rp.client.redirect_uri}?code={hidden_input(signed_in, 'code')}&state={rp.state}")["id_token"])
    assert claims["sub"] == str(org_member.public_id)


def test_an_app_that_needs_consent_sends_the_browser_to_its_consent_page(oidc, org, org_member, password):
    rp = RelyingParty(oidc, make_web_app(org, trusted=False))
    browser = BrowserClient()
    next_url = _sign_in_page(browser, rp)

    signed_in = _post_password(browser, org_member, password, next_url)

    assert signed_in.status_code == 302
    assert signed_in["Location"] == next_url  # the consent page, at its own address (its form posts there)
    assert not AuditEvent.objects.filter(action__in=["login.authorized", "consent.granted"]).exists()
    consent = browser.get(next_url)
    assert consent.status_code == 200
    assert 'id="consent-form"' in consent.content.decode()
    assert AuditEvent.objects.filter(action="login.succeeded", actor=org_member).count() == 1


def test_a_refusal_is_shown_and_audited_once_at_its_own_address(oidc, org, org_member, password):
    web = make_web_app(org)
    Application.objects.get(client_id=web.client_id).allowed_groups.add(GroupFactory(org=org))
    rp = RelyingParty(oidc, web)
    browser = BrowserClient()
    next_url = _sign_in_page(browser, rp)

    signed_in = _post_password(browser, org_member, password, next_url)

    assert signed_in["Location"] == next_url
    assert not AuditEvent.objects.filter(action="login.refused").exists()
    refused = browser.get(next_url)
    assert refused.status_code == 403
    assert "limited to some groups" in refused.content.decode()
    assert AuditEvent.objects.filter(action="login.refused").count() == 1


def test_an_app_disabled_during_the_sign_in_gets_its_error_page_at_its_address(oidc, org, org_member, operator,
                                                                               password):
    rp = RelyingParty(oidc, make_web_app(org))
    browser = BrowserClient()
    next_url = _sign_in_page(browser, rp)
    application_disable(application=Application.objects.get(client_id=rp.client.client_id), actor=operator)

    signed_in = _post_password(browser, org_member, password, next_url)

    assert signed_in["Location"] == next_url
    page = browser.get(next_url)
    assert page.status_code in (400, 403)
    assert "Location" not in page
    assert not AuditEvent.objects.filter(action="login.authorized").exists()


def test_a_next_without_a_redirect_uri_gets_its_error_page_at_its_address(oidc, org, org_member, password):
    rp = RelyingParty(oidc, make_web_app(org))
    browser = BrowserClient()
    _sign_in_page(browser, rp)
    next_url = f"/oauth/authorize?client_id={rp.client.client_id}&response_type=code&scope=openid"

    signed_in = _post_password(browser, org_member, password, next_url)

    assert signed_in["Location"] == next_url
    page = browser.get(next_url)
    assert page.status_code == 400
    assert "redirect_uri parameter is required" in page.content.decode()
