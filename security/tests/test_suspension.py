"""Suspension and disabling, end to end: sign-in, the console, applications and refresh tokens.

A suspended membership closes that org's console and applications and revokes the user's refresh
tokens there, leaving other orgs alone; reactivating opens them again (revoked tokens stay
revoked). A disabled user is refused everywhere and signed out. Each is told why.
"""

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from directory.services import user_disable, user_enable
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory
from identity.tests.html_forms import hidden_input
from identity.tests.oidc_support import RelyingParty, issuer_settings, make_web_app, sign_in_code
from orgs.models import Membership
from orgs.services import membership_reactivate, membership_suspend

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def oidc(live_server):
    with issuer_settings(live_server):
        yield live_server


@pytest.fixture
def person(org, other_org):
    """An admin of both Acme and Globex."""
    user = UserFactory(email="pat@example.test")
    MembershipFactory(user=user, org=org, role="admin")
    MembershipFactory(user=user, org=other_org, role="admin")
    return user


def _console(client, slug):
    return client.get(reverse("console:org-overview", kwargs={"org_slug": slug}))


def _password_sign_in(email, **data) -> tuple[Client, object]:
    browser = Client()
    response = browser.post("/login", {"email": email, "password": DEFAULT_PASSWORD, **data})
    return browser, response


def _refresh(rp, token):
    return rp.session.refresh_token(rp.metadata["token_endpoint"], refresh_token=token["refresh_token"])


def test_suspension_closes_one_orgs_console_and_apps_and_reactivation_reopens_them(oidc, org, other_org,
                                                                                     person, operator):
    browser, response = _password_sign_in(person.email)
    assert response.status_code == 302
    acme_rp = RelyingParty(oidc, make_web_app(org, client_id="acme-web"))
    globex_rp = RelyingParty(oidc, make_web_app(other_org, client_id="globex-web"))
    acme_token = acme_rp.fetch_token(sign_in_code(acme_rp, browser))
    globex_token = globex_rp.fetch_token(sign_in_code(globex_rp, browser))

    membership_suspend(membership=Membership.objects.get(user=person, org=org), actor=operator)

    # The browser's sign-in is ended at once (it is one sign-in for every org)...
    assert _console(browser, "globex")["Location"] == "/login?next=/console/globex/"
    # ...and signing in again, Acme's console and app are closed, with the reason; Globex's are open.
    browser, response = _password_sign_in(person.email)
    assert response.status_code == 302
    console = _console(browser, "acme")
    assert console.status_code == 403
    assert "Your membership of Acme Corp is suspended" in console.content.decode()
    assert _console(browser, "globex").status_code == 200
    refused = acme_rp.authorize(browser)
    assert refused.status_code == 403
    assert "Location" not in refused
    assert "Your membership of Acme Corp is suspended." in refused.content.decode()
    assert AuditEvent.objects.get(action="login.refused").metadata["reason"] == "membership_suspended"
    # Acme's tokens are revoked at once; Globex's still refresh.
    userinfo = requests.get(acme_rp.metadata["userinfo_endpoint"],
                            headers={"Authorization": f"Bearer {acme_token['access_token']}"}, timeout=10)
    assert userinfo.status_code == 401
    with pytest.raises(OAuthError) as excinfo:
        _refresh(acme_rp, acme_token)
    assert excinfo.value.error == "invalid_grant"
    globex_token = _refresh(globex_rp, globex_token)

    membership_reactivate(membership=Membership.objects.get(user=person, org=org), actor=operator)

    assert _console(browser, "acme").status_code == 200
    fresh = acme_rp.fetch_token(sign_in_code(acme_rp, browser))
    assert _refresh(acme_rp, fresh)["access_token"]
    with pytest.raises(OAuthError):
        _refresh(acme_rp, acme_token)  # what suspension revoked stays revoked
    assert _refresh(globex_rp, globex_token)["access_token"]


def test_signing_in_on_the_way_to_a_suspended_orgs_app_explains_the_refusal(oidc, org, other_org, person,
                                                                             operator):
    acme_rp = RelyingParty(oidc, make_web_app(org, client_id="acme-web"))
    membership_suspend(membership=Membership.objects.get(user=person, org=org), actor=operator)
    browser = Client()
    to_login = acme_rp.authorize(browser)
    assert to_login.status_code == 302
    assert to_login["Location"].startswith("/login?")
    next_url = hidden_input(browser.get(to_login["Location"]), "next")

    signed_in = browser.post("/login", {"email": person.email, "password": DEFAULT_PASSWORD, "next": next_url})
    assert signed_in.status_code == 302
    page = browser.get(signed_in["Location"])

    assert page.status_code == 403
    assert "Your membership of Acme Corp is suspended." in page.content.decode()


def test_with_every_membership_suspended_sign_in_is_refused_and_says_where(oidc, org, operator):
    user = MembershipFactory(org=org, user=UserFactory(email="solo@example.test")).user
    membership_suspend(membership=Membership.objects.get(user=user, org=org), actor=operator)

    browser, response = _password_sign_in(user.email)
    assert response.status_code == 200
    assert "Your access to Acme Corp is suspended. Contact your administrator." in response.content.decode()
    assert browser.get("/account/").status_code == 302

    membership_reactivate(membership=Membership.objects.get(user=user, org=org), actor=operator)
    browser, response = _password_sign_in(user.email)
    assert response.status_code == 302
    assert browser.get("/account/").status_code == 200


def test_a_disabled_user_is_signed_out_refused_everywhere_and_told_why(oidc, org, other_org, person, operator):
    browser, _ = _password_sign_in(person.email)
    acme_rp = RelyingParty(oidc, make_web_app(org, client_id="acme-web"))
    globex_rp = RelyingParty(oidc, make_web_app(other_org, client_id="globex-web"))
    acme_token = acme_rp.fetch_token(sign_in_code(acme_rp, browser))
    globex_token = globex_rp.fetch_token(sign_in_code(globex_rp, browser))

    user_disable(user=person, actor=operator)

    # The browser's session is over, in every org.
    assert browser.get("/account/").status_code == 302
    for slug in ("acme", "globex"):
        assert _console(browser, slug).status_code == 302
    for rp, token in ((acme_rp, acme_token), (globex_rp, globex_token)):
        with pytest.raises(OAuthError):
            _refresh(rp, token)
    # Signing in again is refused with the reason, even on the way to an application.
    browser, response = _password_sign_in(person.email)
    assert response.status_code == 200
    assert "This account is disabled. Contact your administrator." in response.content.decode()
    assert browser.get("/account/").status_code == 302
    assert acme_rp.authorize(browser)["Location"].startswith("/login?")

    user_enable(user=person, actor=operator)
    browser, response = _password_sign_in(person.email)
    assert response.status_code == 302
    assert _console(browser, "acme").status_code == 200
