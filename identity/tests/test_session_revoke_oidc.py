"""Ending a session ends what applications got in it: a real code flow (the test client through /oauth/authorize,
Authlib at /oauth/token against the live server), then the refresh after the session ended is `invalid_grant`."""

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from django.conf import settings
from django.test import Client

from audit.models import AuditEvent
from directory.tests.factories import MembershipFactory
from identity.backchannel.tests.support import Receiver, verify_logout_token
from identity.models import UserSession
from identity.tests.oidc_support import RelyingParty, issuer_settings, make_web_app, sign_in_code

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def oidc(live_server):
    with issuer_settings(live_server):
        yield live_server


@pytest.fixture
def receiver():
    running = Receiver().start()
    yield running
    running.stop()


def _tokens(rp: RelyingParty, browser) -> dict:
    return rp.fetch_token(sign_in_code(rp, browser))


def _refresh(rp: RelyingParty, token: dict) -> dict:
    return rp.session.refresh_token(rp.metadata["token_endpoint"], refresh_token=token["refresh_token"])


def _refused(rp: RelyingParty, token: dict) -> str:
    with pytest.raises(OAuthError) as excinfo:
        _refresh(rp, token)
    return excinfo.value.error


def _userinfo_status(rp: RelyingParty, token: dict) -> int:
    return requests.get(rp.metadata["userinfo_endpoint"], timeout=10,
                        headers={"Authorization": f"Bearer {token['access_token']}"}).status_code


def _session_of(browser) -> UserSession:
    return UserSession.objects.get(sid=browser.session["gatehouse.sid"])


def test_a_session_signed_out_from_another_refuses_its_refresh_token(oidc, sign_in, org, org_member, receiver):
    web = make_web_app(org, backchannel_logout_uri=f"{receiver.url}/web")
    laptop, phone = sign_in(org_member, Client()), sign_in(org_member, Client())
    laptop_rp, phone_rp = RelyingParty(oidc, web), RelyingParty(oidc, web)
    laptop_token, phone_token = _tokens(laptop_rp, laptop), _tokens(phone_rp, phone)
    laptop_session = _session_of(laptop)
    assert _refresh(laptop_rp, laptop_token)["access_token"]  # works before
    laptop_token = _refresh(laptop_rp, laptop_token)  # and rotated: the newest refresh token is the one to end

    response = phone.post(f"/account/sessions/{laptop_session.pk}/end")

    assert response.status_code == 302
    assert _refused(laptop_rp, laptop_token) == "invalid_grant"
    assert _userinfo_status(laptop_rp, laptop_token) == 401
    # The phone's session, and what the app got in it, carry on.
    assert _refresh(phone_rp, phone_token)["access_token"]
    assert phone.get("/account/").status_code == 200
    assert laptop.get("/account/").status_code == 302
    # The app was told that session ended, with its sid (OIDC Back-Channel Logout).
    assert [request.path for request in receiver.requests] == ["/backchannel-logout/web"]
    jwks = requests.get(f"{oidc.url}/.well-known/jwks.json", timeout=10).json()
    claims = verify_logout_token(receiver.tokens()[0], jwks=jwks, issuer=settings.GATEHOUSE_ISSUER,
                                 client_id=web.client_id)
    assert claims["sid"] == laptop_session.sid
    event = AuditEvent.objects.get(action="session.ended")
    assert event.metadata["sid"] == laptop_session.sid
    assert event.metadata["tokens_revoked"] >= 2  # the refresh token and its access token, at least


def test_sign_out_everywhere_else_refuses_the_other_sessions_refresh_tokens(oidc, sign_in, org, org_member):
    web = make_web_app(org)
    browsers = [sign_in(org_member, Client()) for _ in range(3)]
    parties = [RelyingParty(oidc, web) for _ in browsers]
    tokens = [_tokens(rp, browser) for rp, browser in zip(parties, browsers, strict=True)]

    assert browsers[2].post("/account/sessions/end-others").status_code == 302

    assert _refused(parties[0], tokens[0]) == "invalid_grant"
    assert _refused(parties[1], tokens[1]) == "invalid_grant"
    assert _refresh(parties[2], tokens[2])["access_token"]


def test_an_admin_ending_all_sessions_refuses_that_orgs_apps_and_leaves_other_orgs_apps(
        oidc, sign_in, org, other_org, org_member, org_admin):
    MembershipFactory(user=org_member, org=other_org, role="member")
    acme_rp = RelyingParty(oidc, make_web_app(org, client_id="acme-web"))
    globex_rp = RelyingParty(oidc, make_web_app(other_org, client_id="globex-web"))
    browser = sign_in(org_member, Client())
    acme_token, globex_token = _tokens(acme_rp, browser), _tokens(globex_rp, browser)
    console = sign_in(org_admin, Client())

    response = console.post(f"/console/acme/users/{org_member.pk}/sessions/end")

    assert response.status_code == 302
    assert browser.get("/account/").status_code == 302
    assert _refused(acme_rp, acme_token) == "invalid_grant"
    # Acme's admin has no say over Globex's applications: what Globex's app got keeps working.
    assert _refresh(globex_rp, globex_token)["access_token"]
    event = AuditEvent.objects.get(action="sessions.ended")
    assert (event.actor, event.org, event.target_id) == (org_admin, org, str(org_member.pk))
    assert event.metadata["reason"] == "ended_by_admin"


def test_signing_out_revokes_what_the_session_got(oidc, sign_in, org, org_member):
    rp = RelyingParty(oidc, make_web_app(org))
    browser = sign_in(org_member, Client())
    token = _tokens(rp, browser)

    assert browser.post("/logout").status_code == 302

    assert _refused(rp, token) == "invalid_grant"
    assert _userinfo_status(rp, token) == 401


def test_a_code_issued_before_the_session_ended_cannot_be_redeemed_after(oidc, sign_in, org, org_member):
    rp = RelyingParty(oidc, make_web_app(org))
    browser, phone = sign_in(org_member, Client()), sign_in(org_member, Client())
    callback = sign_in_code(rp, browser)

    phone.post(f"/account/sessions/{_session_of(browser).pk}/end")

    with pytest.raises(OAuthError) as excinfo:
        rp.fetch_token(callback)
    assert excinfo.value.error == "invalid_grant"
