"""Faults real relying parties hit (issue #10 part 1): RFC 9207 `iss` on every error redirect, an empty
200 from revocation, response modes, prompt values, request objects, userinfo with a client's token,
client credentials without `openid`, bearer tokens in the header only."""

import base64
import re
from html import unescape
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests

from applications.models import Application, Consent
from identity.models import UserSession
from identity.tests.oidc_support import (
    WEB_REDIRECT,
    RelyingParty,
    issuer_settings,
    make_machine_app,
    make_web_app,
    query_of,
    sign_in_code,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def oidc(live_server):
    with issuer_settings(live_server):
        yield live_server


def _basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def _error_redirect(response, oidc, error: str, *, state: str | None = None) -> dict:
    """The response is a redirect to the client's callback carrying `error` and RFC 9207 `iss`."""
    assert response.status_code == 302, response.content[:300]
    location = response["Location"]
    assert location.startswith(WEB_REDIRECT), location
    params = query_of(location)
    assert params["error"] == error, params
    assert params["iss"] == oidc.url, params
    if state is not None:
        assert params["state"] == state
    return params


# ------------------------------------------------------------------ iss on every error redirect


def test_login_required_for_prompt_none_without_a_session_carries_iss(oidc, client, org):
    rp = RelyingParty(oidc, make_web_app(org))
    response = rp.authorize(client, prompt="none")
    _error_redirect(response, oidc, "login_required", state=rp.state)


def test_consent_required_for_prompt_none_carries_iss(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org, trusted=False))
    response = rp.authorize(sign_in(org_admin), prompt="none")
    _error_redirect(response, oidc, "consent_required", state=rp.state)


def test_access_denied_from_the_consent_page_carries_iss(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org, trusted=False))
    browser = sign_in(org_admin)
    page = rp.authorize(browser)
    assert page.status_code == 200
    form = {name: value for name, value in page.context["form"].initial.items() if value is not None}
    response = browser.post("/oauth/authorize", {**form})  # no "allow": the person pressed Deny
    _error_redirect(response, oidc, "access_denied", state=rp.state)
    assert not Consent.objects.exists()


def test_invalid_scope_carries_iss(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org), scope="openid no-such-scope")
    response = rp.authorize(sign_in(org_admin))
    _error_redirect(response, oidc, "invalid_scope", state=rp.state)


def test_invalid_request_carries_iss(oidc, sign_in, org, org_admin):
    """A public-kind rule broken after the redirect URI was validated: PKCE with `plain`."""
    client = make_web_app(org, require_pkce=True)
    browser = sign_in(org_admin)
    params = {"response_type": "code", "client_id": client.client_id, "redirect_uri": WEB_REDIRECT,
              "scope": "openid", "state": "s1", "code_challenge": "x" * 43, "code_challenge_method": "plain"}
    response = browser.get("/oauth/authorize?" + urlencode(params))
    _error_redirect(response, oidc, "invalid_request", state="s1")


def test_unsupported_response_type_carries_iss(oidc, sign_in, org, org_admin):
    client = make_web_app(org)
    params = {"response_type": "token", "client_id": client.client_id, "redirect_uri": WEB_REDIRECT,
              "scope": "openid", "state": "s2"}
    response = sign_in(org_admin).get("/oauth/authorize?" + urlencode(params))
    params = query_of(response["Location"]) if response.status_code == 302 else {}
    if not params:  # oauthlib may answer in the fragment for an implicit-style response type
        params = {k: v[0] for k, v in parse_qs(urlparse(response["Location"]).fragment).items()}
    assert params["error"] in ("unsupported_response_type", "unauthorized_client")
    assert params["iss"] == oidc.url


def test_access_denied_for_a_refused_member_with_prompt_none_carries_iss(oidc, sign_in, org, other_org,
                                                                          other_org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    response = rp.authorize(sign_in(other_org_admin), prompt="none")
    _error_redirect(response, oidc, "access_denied", state=rp.state)


# ------------------------------------------------------------------ prompt, request objects, response modes


def test_prompt_consent_asks_even_when_consent_was_remembered(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org, trusted=False))
    browser = sign_in(org_admin)
    Consent.objects.create(user=org_admin, application=Application.objects.get(client_id="web-rp"),
                           scopes="openid profile email")
    assert rp.authorize(browser)["Location"].startswith(WEB_REDIRECT)  # remembered: no question
    page = rp.authorize(browser, prompt="consent")
    assert page.status_code == 200
    assert "Allow" in page.content.decode()


def test_prompt_none_with_another_value_is_invalid_request(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    response = rp.authorize(sign_in(org_admin), prompt="none login")
    _error_redirect(response, oidc, "invalid_request", state=rp.state)


def test_unknown_prompt_value_is_invalid_request(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    response = rp.authorize(sign_in(org_admin), prompt="select_account")
    _error_redirect(response, oidc, "invalid_request", state=rp.state)


@pytest.mark.parametrize(("param", "error"), [("request", "request_not_supported"),
                                              ("request_uri", "request_uri_not_supported")])
def test_request_objects_are_refused_with_their_own_error(oidc, sign_in, org, org_admin, param, error):
    rp = RelyingParty(oidc, make_web_app(org))
    value = "eyJhbGciOiJub25lIn0.e30." if param == "request" else "https://rp.example/request.jwt"
    response = rp.authorize(sign_in(org_admin), **{param: value})
    _error_redirect(response, oidc, error, state=rp.state)


def test_response_mode_fragment_puts_the_answer_in_the_fragment(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    response = rp.authorize(sign_in(org_admin), response_mode="fragment")
    assert response.status_code == 302
    location = urlparse(response["Location"])
    assert not location.query
    params = {k: v[0] for k, v in parse_qs(location.fragment).items()}
    assert params["state"] == rp.state
    assert params["iss"] == oidc.url
    token = rp.fetch_token(f"{WEB_REDIRECT}?{location.fragment}")
    assert rp.verify_id_token(token["id_token"])["sub"] == str(org_admin.public_id)


def _form_post_fields(html: str) -> tuple[str, dict]:
    action = unescape(re.search(r'<form[^>]*action="([^"]+)"', html).group(1))
    fields = {unescape(name): unescape(value)
              for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)}
    return action, fields


def test_response_mode_form_post_posts_the_code_to_the_client(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    response = rp.authorize(sign_in(org_admin), response_mode="form_post")
    assert response.status_code == 200
    html = response.content.decode()
    action, fields = _form_post_fields(html)
    assert action == WEB_REDIRECT
    assert fields["state"] == rp.state
    assert fields["iss"] == oidc.url
    assert "<script>" not in html  # the strict CSP: the form submits from a static file
    assert WEB_REDIRECT.split("/callback")[0] in response["Content-Security-Policy"]
    assert response["Cache-Control"] == "no-store"
    token = rp.fetch_token(f"{WEB_REDIRECT}?{urlencode(fields)}")
    assert rp.verify_id_token(token["id_token"])["sub"] == str(org_admin.public_id)


def test_response_mode_form_post_carries_errors_too(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org, trusted=False))
    response = rp.authorize(sign_in(org_admin), prompt="none", response_mode="form_post")
    assert response.status_code == 200
    action, fields = _form_post_fields(response.content.decode())
    assert action == WEB_REDIRECT
    assert fields["error"] == "consent_required"
    assert fields["iss"] == oidc.url


def test_an_unsupported_response_mode_is_an_error(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    response = rp.authorize(sign_in(org_admin), response_mode="query.jwt")
    params = _error_redirect(response, oidc, "invalid_request", state=rp.state)
    assert "response_mode" in params["error_description"]
    assert "code" not in params


def test_discovery_says_exactly_what_is_served(oidc):
    document = requests.get(f"{oidc.url}/.well-known/openid-configuration", timeout=10).json()
    assert document["response_modes_supported"] == ["query", "fragment", "form_post"]
    assert document["request_parameter_supported"] is False
    assert document["request_uri_parameter_supported"] is False
    assert document["prompt_values_supported"] == ["none", "login", "consent"]
    assert "backchannel_logout_supported" in document


def test_every_advertised_claim_is_one_an_id_token_or_userinfo_carries(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    token = rp.fetch_token(sign_in_code(rp, sign_in(org_admin)))
    id_claims = rp.verify_id_token(token["id_token"])
    userinfo = requests.get(rp.metadata["userinfo_endpoint"],
                            headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10).json()
    emitted = set(id_claims) | set(userinfo)
    assert set(rp.metadata["claims_supported"]) <= emitted, set(rp.metadata["claims_supported"]) - emitted
    # And nothing a person's token carries goes unadvertised (at_hash and jti describe the token itself).
    assert emitted - set(rp.metadata["claims_supported"]) <= {"at_hash", "jti"}


# ------------------------------------------------------------------ revocation


def test_revocation_answers_an_empty_200_that_is_not_html(oidc, org):
    machine = make_machine_app(org)
    token = requests.post(f"{oidc.url}/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(machine.client_id, machine.client_secret), timeout=10).json()["access_token"]
    for value in (token, "no-such-token"):
        response = requests.post(f"{oidc.url}/oauth/revoke", data={"token": value},
                                 auth=(machine.client_id, machine.client_secret), timeout=10)
        assert response.status_code == 200
        assert response.content == b""
        assert "text/html" not in response.headers.get("Content-Type", "")
    introspection = requests.post(f"{oidc.url}/oauth/introspect", data={"token": token},
                                  auth=(machine.client_id, machine.client_secret), timeout=10).json()
    assert introspection == {"active": False}


# ------------------------------------------------------------------ client credentials and userinfo


def test_client_credentials_never_grants_openid(oidc, org):
    machine = make_machine_app(org)
    answer = requests.post(f"{oidc.url}/oauth/token", data={"grant_type": "client_credentials"},
                           auth=(machine.client_id, machine.client_secret), timeout=10).json()
    assert "openid" not in answer["scope"].split()
    asked = requests.post(f"{oidc.url}/oauth/token", data={"grant_type": "client_credentials", "scope": "openid"},
                          auth=(machine.client_id, machine.client_secret), timeout=10)
    assert asked.status_code == 400
    assert asked.json()["error"] == "invalid_scope"


def test_userinfo_with_a_token_without_a_user_is_invalid_token(oidc, org):
    from oauth2_provider.models import get_access_token_model

    machine = make_machine_app(org)
    token = requests.post(f"{oidc.url}/oauth/token", data={"grant_type": "client_credentials"},
                          auth=(machine.client_id, machine.client_secret), timeout=10).json()["access_token"]
    # Also a token a client-credentials grant may have carried openid on in the past.
    get_access_token_model().objects.update(scope="openid")
    response = requests.get(f"{oidc.url}/oauth/userinfo", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def _user_access_token(oidc, browser, org) -> str:
    rp = RelyingParty(oidc, make_web_app(org))
    return rp.fetch_token(sign_in_code(rp, browser))["access_token"]


def test_userinfo_takes_the_token_from_the_header_only(oidc, sign_in, org, org_admin):
    token = _user_access_token(oidc, sign_in(org_admin), org)
    url = f"{oidc.url}/oauth/userinfo"
    assert requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
    for answer in (requests.get(url, params={"access_token": token}, timeout=10),
                   requests.post(url, data={"access_token": token}, timeout=10),
                   requests.get(url, params={"access_token": token}, headers={"Authorization": f"Bearer {token}"},
                                timeout=10)):
        assert answer.status_code == 400
        assert answer.headers["WWW-Authenticate"].startswith('Bearer error="invalid_request"')
        assert answer.json()["error"] == "invalid_request"
        assert "sub" not in answer.json()


def test_a_refused_logout_changes_nothing_and_says_why(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    browser = sign_in(org_admin)
    id_token = rp.fetch_token(sign_in_code(rp, browser))["id_token"]
    response = browser.get("/oauth/logout?" + urlencode({"id_token_hint": id_token,
                                                         "post_logout_redirect_uri": "https://evil.example/"}))
    assert response.status_code == 400
    assert "post_logout_redirect_uri is not registered for this application" in response.content.decode()
    assert UserSession.objects.live().filter(user=org_admin).exists()


# ------------------------------------------------------------------ RP-initiated logout by kind


def _public_app(org, kind: str, redirect_uri: str, post_logout: str) -> tuple:
    from applications.services import application_create
    from identity.tests.oidc_support import Client

    created = application_create(org=org, name=f"{kind} app", kind=kind, redirect_uris=[redirect_uri],
                                 post_logout_redirect_uris=[post_logout], client_id=f"{kind}-app", trusted=True)
    return Client(created.application.client_id, None, redirect_uri)


def _signed_in_id_token(oidc, browser, client) -> str:
    rp = RelyingParty(oidc, client)
    return rp.fetch_token(sign_in_code(rp, browser))["id_token"]


def test_a_single_page_app_signs_out_to_its_registered_loopback_uri(oidc, sign_in, org, org_admin):
    client = _public_app(org, "spa", "https://spa.example/callback", "http://127.0.0.1:4001/signed-out")
    browser = sign_in(org_admin)
    id_token = _signed_in_id_token(oidc, browser, client)
    response = browser.get("/oauth/logout?" + urlencode({"id_token_hint": id_token, "state": "s",
                                                         "post_logout_redirect_uri": "http://127.0.0.1:4001/signed-out"}))
    assert response.status_code == 302
    assert response["Location"] == "http://127.0.0.1:4001/signed-out?state=s"
    assert not UserSession.objects.live().filter(user=org_admin).exists()


def test_a_native_app_signs_out_to_its_loopback_uri_on_any_port(oidc, sign_in, org, org_admin):
    client = _public_app(org, "native", "http://127.0.0.1/callback", "http://127.0.0.1/signed-out")
    browser = sign_in(org_admin)
    rp = RelyingParty(oidc, client)
    callback = browser.get(rp.path_of(rp.authorization_url(redirect_uri="http://127.0.0.1:53124/callback")))
    assert callback.status_code == 302
    id_token = rp.fetch_token(callback["Location"], redirect_uri="http://127.0.0.1:53124/callback")["id_token"]
    response = browser.get("/oauth/logout?" + urlencode({"id_token_hint": id_token,
                                                         "post_logout_redirect_uri": "http://127.0.0.1:61000/signed-out"}))
    assert response.status_code == 302
    assert response["Location"] == "http://127.0.0.1:61000/signed-out"
    assert not UserSession.objects.live().filter(user=org_admin).exists()


def test_a_web_app_signs_out_only_to_its_exact_uri_port_included(oidc, sign_in, org, org_admin):
    from applications.services import application_create
    from identity.tests.oidc_support import Client

    created = application_create(org=org, name="Local web", kind="web", redirect_uris=["http://127.0.0.1:4003/cb"],
                                 post_logout_redirect_uris=["http://127.0.0.1:4003/signed-out"],
                                 client_id="local-web", trusted=True)
    client = Client("local-web", created.client_secret, "http://127.0.0.1:4003/cb")
    browser = sign_in(org_admin)
    id_token = _signed_in_id_token(oidc, browser, client)
    other_port = browser.get("/oauth/logout?" + urlencode({
        "id_token_hint": id_token, "post_logout_redirect_uri": "http://127.0.0.1:4004/signed-out"}))
    assert other_port.status_code == 400
    assert "Location" not in other_port
    assert UserSession.objects.live().filter(user=org_admin).exists()  # refused: nothing changed
    exact = browser.get("/oauth/logout?" + urlencode({
        "id_token_hint": id_token, "post_logout_redirect_uri": "http://127.0.0.1:4003/signed-out"}))
    assert exact.status_code == 302
    assert exact["Location"] == "http://127.0.0.1:4003/signed-out"
    assert not UserSession.objects.live().filter(user=org_admin).exists()
