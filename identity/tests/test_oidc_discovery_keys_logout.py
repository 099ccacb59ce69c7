"""Discovery, JWKS across a key rotation, and RP-initiated logout (with a retired-key hint too)."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
import requests
from django.test import Client
from django.utils import timezone

from identity.jwks import jwks_cache_clear
from identity.models import SigningKey, UserSession
from identity.signing import signing_key_cache_clear, signing_key_rotate
from identity.tests.oidc_support import RelyingParty, issuer_settings, make_web_app, query_of, sign_in_code

pytestmark = pytest.mark.django_db(transaction=True)

SIGNED_OUT = "https://rp.example/signed-out"


@pytest.fixture
def oidc(live_server):
    signing_key_cache_clear()
    with issuer_settings(live_server):
        yield live_server


def test_discovery_is_complete_and_true(oidc):
    response = requests.get(f"{oidc.url}/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200
    assert "max-age" in response.headers["Cache-Control"]
    doc = response.json()
    assert doc["issuer"] == oidc.url
    for name, path in [("authorization_endpoint", "/oauth/authorize"), ("token_endpoint", "/oauth/token"),
                       ("userinfo_endpoint", "/oauth/userinfo"), ("jwks_uri", "/.well-known/jwks.json"),
                       ("end_session_endpoint", "/oauth/logout"), ("revocation_endpoint", "/oauth/revoke"),
                       ("introspection_endpoint", "/oauth/introspect")]:
        assert doc[name] == oidc.url + path
        # Every advertised endpoint exists (a GET may be refused, but never 404).
        assert requests.get(doc[name], timeout=10, allow_redirects=False).status_code != 404
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert set(doc["grant_types_supported"]) == {"authorization_code", "refresh_token", "client_credentials"}
    assert {"client_secret_basic", "client_secret_post"} <= set(doc["token_endpoint_auth_methods_supported"])
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["subject_types_supported"] == ["public"]
    assert {"openid", "profile", "email"} <= set(doc["scopes_supported"])
    assert {"sub", "email", "name", "org", "groups", "roles", "amr", "sid", "auth_time"} <= \
        set(doc["claims_supported"])


def test_discovery_ignores_the_host_header(oidc):
    doc = requests.get(f"{oidc.url}/.well-known/openid-configuration", headers={"Host": "evil.example"},
                       timeout=10)
    # Either refused as a bad host, or answered with the configured issuer — never the forged one.
    assert doc.status_code == 400 or doc.json()["issuer"] == oidc.url


def test_jwks_publishes_active_and_next_public_keys_only(oidc):
    response = requests.get(f"{oidc.url}/.well-known/jwks.json", timeout=10)
    assert "max-age=3600" in response.headers["Cache-Control"]
    keys = response.json()["keys"]
    assert len(keys) == 2
    states = dict(SigningKey.objects.values_list("kid", "state"))
    assert {states[key["kid"]] for key in keys} == {"active", "next"}
    for key in keys:
        assert key["kty"] == "RSA"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def _age_next_key():
    SigningKey.objects.filter(state=SigningKey.State.NEXT).update(
        published_at=timezone.now() - timedelta(hours=2))


def test_tokens_signed_before_a_rotation_still_verify(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    old_token = rp.fetch_token(sign_in_code(rp, sign_in(org_admin)))["id_token"]
    old_kid = SigningKey.objects.get(state="active").kid
    _age_next_key()
    signing_key_rotate()
    jwks_cache_clear()
    assert rp.verify_id_token(old_token)["sub"] == str(org_admin.public_id)
    rp2 = RelyingParty(oidc, rp.client)
    new_token = rp2.fetch_token(sign_in_code(rp2, sign_in(org_admin)))["id_token"]
    assert rp2.verify_id_token(new_token)["sub"] == str(org_admin.public_id)
    from joserfc import jws

    assert jws.extract_compact(old_token.encode()).protected["kid"] == old_kid
    assert jws.extract_compact(new_token.encode()).protected["kid"] != old_kid


def test_rotation_too_soon_is_refused(oidc):
    from config.exceptions import DomainError

    requests.get(f"{oidc.url}/.well-known/jwks.json", timeout=10)  # makes the first keys
    with pytest.raises(DomainError):
        signing_key_rotate()


def _logout_url(**params) -> str:
    return "/oauth/logout?" + urlencode(params)


def test_logout_with_a_valid_hint_signs_out_and_returns_to_the_app(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    browser = sign_in(org_admin)
    id_token = rp.fetch_token(sign_in_code(rp, browser))["id_token"]
    response = browser.get(_logout_url(id_token_hint=id_token, post_logout_redirect_uri=SIGNED_OUT, state="bye"))
    assert response.status_code == 302
    assert response["Location"] == f"{SIGNED_OUT}?state=bye"
    assert not UserSession.objects.live().filter(user=org_admin).exists()
    assert browser.get("/account/").status_code == 302  # signed out


def test_logout_with_a_retired_key_hint_still_works(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    browser = sign_in(org_admin)
    id_token = rp.fetch_token(sign_in_code(rp, browser))["id_token"]
    _age_next_key()
    signing_key_rotate()
    jwks_cache_clear()
    assert SigningKey.objects.filter(state="retired").count() == 1
    response = browser.get(_logout_url(id_token_hint=id_token, post_logout_redirect_uri=SIGNED_OUT))
    assert response.status_code == 302
    assert response["Location"] == SIGNED_OUT
    assert not UserSession.objects.live().filter(user=org_admin).exists()


def test_logout_without_a_hint_asks_and_never_redirects_to_the_app(oidc, sign_in, org, org_admin):
    make_web_app(org)
    browser = sign_in(org_admin)
    page = browser.get(_logout_url(client_id="web-rp", post_logout_redirect_uri=SIGNED_OUT))
    assert page.status_code == 200
    assert "Sign out?" in page.content.decode()
    assert UserSession.objects.live().filter(user=org_admin).exists()
    data = {name: value for name, value in page.context["form"].initial.items() if value}
    answer = browser.post("/oauth/logout", {**data, "allow": "true"})
    assert answer.status_code == 302
    assert not answer["Location"].startswith("https://rp.example")
    assert not UserSession.objects.live().filter(user=org_admin).exists()


def test_logout_with_a_forged_hint_is_treated_as_no_hint(oidc, sign_in, org, org_admin):
    make_web_app(org)
    browser = sign_in(org_admin)
    page = browser.get(_logout_url(id_token_hint="eyJhbGciOiJub25lIn0.e30.", post_logout_redirect_uri=SIGNED_OUT))
    assert page.status_code == 200
    assert UserSession.objects.live().filter(user=org_admin).exists()


def test_logout_to_an_unregistered_uri_is_refused(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    browser = sign_in(org_admin)
    id_token = rp.fetch_token(sign_in_code(rp, browser))["id_token"]
    response = browser.get(_logout_url(id_token_hint=id_token, post_logout_redirect_uri="https://evil.example/"))
    assert response.status_code == 400
    assert "Location" not in response
    assert UserSession.objects.live().filter(user=org_admin).exists()


def test_sign_in_after_logout_needs_the_password_again(oidc, client, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    browser = sign_in(org_admin)
    id_token = rp.fetch_token(sign_in_code(rp, browser))["id_token"]
    browser.get(_logout_url(id_token_hint=id_token))
    again = rp.authorize(browser)
    assert again["Location"].startswith("/login")
    assert "code" not in query_of(again["Location"])


def test_logout_with_a_valid_hint_but_no_session_still_revokes_the_apps_tokens(oidc, client, sign_in, org,
                                                                                 org_admin):
    from oauth2_provider.models import get_access_token_model

    rp = RelyingParty(oidc, make_web_app(org))
    browser = sign_in(org_admin)
    id_token = rp.fetch_token(sign_in_code(rp, browser))["id_token"]
    # The RP's logout reaches a browser without the Gatehouse session (another browser, or cookies gone):
    # signing out at Gatehouse itself would already have revoked the tokens of that session.
    elsewhere = Client()
    assert get_access_token_model().objects.filter(user=org_admin).exists()
    response = elsewhere.get(_logout_url(id_token_hint=id_token, post_logout_redirect_uri=SIGNED_OUT))
    assert response["Location"] == SIGNED_OUT
    assert not get_access_token_model().objects.filter(user=org_admin).exists()
