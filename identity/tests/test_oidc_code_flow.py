"""Authorization Code + PKCE with Authlib as the relying party against the live server."""

import base64
import hashlib

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from django.db.models import signals
from oauth2_provider.models import get_grant_model
from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth2.rfc6749 import errors

from applications.models import Application, Consent
from audit.models import AuditEvent
from identity.oidc.validator import GatehouseValidator
from identity.tests.html_forms import hidden_input
from identity.tests.oidc_support import (
    SPA_REDIRECT,
    WEB_REDIRECT,
    RelyingParty,
    issuer_settings,
    make_spa_app,
    make_web_app,
    query_of,
    sign_in_code,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def oidc(live_server):
    with issuer_settings(live_server):
        yield live_server


def test_web_app_signs_a_member_in_and_the_id_token_verifies(oidc, sign_in, org, org_admin, group):
    group.members.add(org_admin)
    rp = RelyingParty(oidc, make_web_app(org))
    signed_in = sign_in(org_admin)
    callback = sign_in_code(rp, signed_in)
    params = query_of(callback)
    assert params["state"] == rp.state
    assert params["iss"] == oidc.url  # RFC 9207
    token = rp.fetch_token(callback)
    claims = rp.verify_id_token(token["id_token"])
    assert claims["sub"] == str(org_admin.public_id)
    assert claims["sub"] != str(org_admin.pk)
    assert claims["email"] == org_admin.email
    assert claims["email_verified"] is True
    assert claims["name"] == org_admin.full_name
    assert claims["org"] == {"id": str(org.pk), "slug": "acme"}
    assert claims["groups"] == ["engineering"]
    assert claims["roles"] == []
    assert claims["amr"] == ["pwd"]
    assert claims["nonce"] == rp.nonce
    assert claims["sid"] == signed_in.session["gatehouse.sid"]
    assert abs(claims["auth_time"] - claims["iat"]) < 60
    assert token["token_type"] == "Bearer"
    assert token["refresh_token"]
    userinfo = requests.get(rp.metadata["userinfo_endpoint"],
                            headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10).json()
    assert userinfo["sub"] == claims["sub"]
    assert userinfo["email"] == org_admin.email
    assert userinfo["org"] == {"id": str(org.pk), "slug": "acme"}
    event = AuditEvent.objects.get(action="login.authorized")
    assert event.org == org
    assert event.actor == org_admin


def test_scopes_limit_the_claims(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org), scope="openid")
    token = rp.fetch_token(sign_in_code(rp, sign_in(org_admin)))
    claims = rp.verify_id_token(token["id_token"])
    assert "email" not in claims
    assert "name" not in claims
    assert claims["org"]["slug"] == "acme"


def test_app_roles_come_from_groups(oidc, sign_in, org, org_admin, group):
    from applications.models import AppRole

    group.members.add(org_admin)
    client = make_web_app(org)
    app = Application.objects.get(client_id=client.client_id)
    AppRole.objects.create(application=app, key="app:admin", name="Admin").groups.add(group)
    AppRole.objects.create(application=app, key="app:viewer", name="Viewer")
    rp = RelyingParty(oidc, client)
    claims = rp.verify_id_token(rp.fetch_token(sign_in_code(rp, sign_in(org_admin)))["id_token"])
    assert claims["roles"] == ["app:admin"]


def test_a_replayed_code_is_refused_and_revokes_its_tokens(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    callback = sign_in_code(rp, sign_in(org_admin))
    token = rp.fetch_token(callback)
    with pytest.raises(OAuthError) as excinfo:
        rp.fetch_token(callback)
    assert excinfo.value.error == "invalid_grant"
    # The access token the code produced no longer works, and nor does its refresh token.
    userinfo = requests.get(rp.metadata["userinfo_endpoint"],
                            headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)
    assert userinfo.status_code == 401
    with pytest.raises(OAuthError):
        rp.session.refresh_token(rp.metadata["token_endpoint"], refresh_token=token["refresh_token"])
    assert AuditEvent.objects.filter(action="token.code_replayed", org=org).count() == 1


def test_a_code_is_spent_once_by_the_delete_of_its_grant(oidc, sign_in, org, org_admin):
    """The token endpoint spends a code by deleting its grant; a code whose grant another request has just
    deleted (a parallel redemption), or another client's, is refused, and nothing else is deleted."""
    rp = RelyingParty(oidc, make_web_app(org))
    code = query_of(sign_in_code(rp, sign_in(org_admin)))["code"]
    app = Application.objects.get(client_id=rp.client.client_id)
    other_app = Application.objects.get(client_id=make_web_app(org, client_id="other-rp").client_id)
    grants = get_grant_model().objects.filter(code=code)
    validator = GatehouseValidator()

    def spend(client):
        request = OAuthRequest("/oauth/token", http_method="POST")
        request.client = client
        validator.invalidate_authorization_code(client.client_id, code, request)

    with pytest.raises(errors.InvalidGrantError):
        spend(other_app)
    assert grants.count() == 1
    spend(app)
    assert not grants.exists()
    with pytest.raises(errors.InvalidGrantError):
        spend(app)


def test_nothing_depends_on_a_grant_row():
    """GatehouseValidator.invalidate_authorization_code deletes a grant with one DELETE, past Django's deletion
    collector: right only while no model points at grants and no delete signal listens for them."""
    grant_model = get_grant_model()
    assert grant_model._meta.related_objects == ()
    assert not signals.pre_delete.has_listeners(grant_model)
    assert not signals.post_delete.has_listeners(grant_model)


def test_wrong_client_secret_is_invalid_client(oidc, sign_in, org, org_admin):
    client = make_web_app(org)
    client.client_secret = "not-the-secret"
    rp = RelyingParty(oidc, client)
    with pytest.raises(OAuthError) as excinfo:
        rp.fetch_token(sign_in_code(rp, sign_in(org_admin)))
    assert excinfo.value.error == "invalid_client"


def test_client_secret_post_works_too(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    rp.session.token_endpoint_auth_method = "client_secret_post"
    token = rp.fetch_token(sign_in_code(rp, sign_in(org_admin)))
    assert rp.verify_id_token(token["id_token"])["sub"] == str(org_admin.public_id)


def test_client_secret_is_stored_with_the_fast_hasher(org):
    client = make_web_app(org)
    stored = Application.objects.get(client_id=client.client_id).client_secret
    assert stored.startswith("gatehouse_secret_sha256$")
    assert client.client_secret not in stored


@pytest.mark.parametrize("redirect_uri", ["https://evil.example/callback", WEB_REDIRECT + "/extra",
                                          "https://rp.example/callback?x=1"])
def test_unregistered_redirect_uri_gets_an_error_page_never_a_redirect(oidc, sign_in, org, org_admin, redirect_uri):
    rp = RelyingParty(oidc, make_web_app(org))
    rp.session.redirect_uri = redirect_uri
    response = rp.authorize(sign_in(org_admin))
    assert response.status_code == 400
    assert "Location" not in response
    assert "cannot be processed" in response.content.decode()


def test_unknown_client_id_gets_an_error_page(oidc, client, sign_in, org, org_admin):
    response = sign_in(org_admin).get("/oauth/authorize?client_id=nope&response_type=code"
                                      f"&redirect_uri={WEB_REDIRECT}&scope=openid")
    assert response.status_code == 400
    assert "Location" not in response
    assert "invalid_client_id" in response.content.decode() or "client" in response.content.decode().lower()


def test_unknown_client_id_is_refused_before_any_sign_in(oidc, client):
    response = client.get(f"/oauth/authorize?client_id=nope&response_type=code&redirect_uri={WEB_REDIRECT}")
    assert response.status_code == 400
    assert "Location" not in response


def test_token_redirect_uri_mismatch_is_refused(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    callback = sign_in_code(rp, sign_in(org_admin))
    code = query_of(callback)["code"]
    response = requests.post(rp.metadata["token_endpoint"], data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "https://rp.example/other",
        "code_verifier": rp.code_verifier,
    }, auth=(rp.client.client_id, rp.client.client_secret), timeout=10)
    assert response.status_code == 400
    assert response.json()["error"] in ("invalid_grant", "invalid_request")


def _pkce_url(rp, **overrides):
    from urllib.parse import urlencode

    params = {"client_id": rp.client.client_id, "response_type": "code", "redirect_uri": rp.client.redirect_uri,
              "scope": "openid", "state": "s1", **overrides}
    return "/oauth/authorize?" + urlencode({k: v for k, v in params.items() if v is not None})


def test_spa_without_pkce_is_refused_back_to_the_client(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_spa_app(org))
    response = sign_in(org_admin).get(_pkce_url(rp))
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert response["Location"].startswith(SPA_REDIRECT)
    assert params["error"] == "invalid_request"
    assert "code_challenge" in params["error_description"].lower() or "challenge" in params["error_description"]
    assert params["state"] == "s1"


def test_spa_with_plain_pkce_is_refused(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_spa_app(org))
    response = sign_in(org_admin).get(_pkce_url(rp, code_challenge="a" * 43, code_challenge_method="plain"))
    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "invalid_request"
    assert "code" not in query_of(response["Location"])


def test_spa_with_s256_pkce_gets_tokens_without_a_secret(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_spa_app(org))
    token = rp.fetch_token(sign_in_code(rp, sign_in(org_admin)))
    assert rp.verify_id_token(token["id_token"])["sub"] == str(org_admin.public_id)


def test_wrong_pkce_verifier_is_invalid_grant(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_spa_app(org))
    callback = sign_in_code(rp, sign_in(org_admin))
    rp.code_verifier = "x" * 50
    with pytest.raises(OAuthError) as excinfo:
        rp.fetch_token(callback)
    assert excinfo.value.error == "invalid_grant"


def test_web_app_may_require_pkce(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org, require_pkce=True))
    response = sign_in(org_admin).get(_pkce_url(rp))
    assert query_of(response["Location"])["error"] == "invalid_request"
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    response = sign_in(org_admin).get(_pkce_url(rp, code_challenge=challenge, code_challenge_method="S256"))
    assert "code" in query_of(response["Location"])


def test_prompt_none_without_a_session_answers_login_required(oidc, client, org):
    rp = RelyingParty(oidc, make_web_app(org))
    response = rp.authorize(client, prompt="none")
    assert response.status_code == 302
    params = query_of(response["Location"])
    assert response["Location"].startswith(WEB_REDIRECT)
    assert params["error"] == "login_required"
    assert params["state"] == rp.state


def test_prompt_none_with_a_session_and_trusted_app_issues_a_code(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    response = rp.authorize(sign_in(org_admin), prompt="none")
    assert "code" in query_of(response["Location"])


def test_prompt_none_without_consent_answers_consent_required(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org, trusted=False))
    response = rp.authorize(sign_in(org_admin), prompt="none")
    assert query_of(response["Location"])["error"] == "consent_required"


def test_anonymous_user_is_sent_to_sign_in_and_back(oidc, client, org, org_admin, password):
    rp = RelyingParty(oidc, make_web_app(org))
    response = rp.authorize(client)
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=/oauth/authorize%3F")
    login_page = client.get(response["Location"])
    # The sign-in form's POST ends at the client: CSP's form-action must allow its origin.
    assert "https://rp.example" in login_page["Content-Security-Policy"]
    next_url = hidden_input(login_page, "next")
    signed_in = client.post("/login", {"email": org_admin.email, "password": password, "next": next_url})
    # The sign-in's own answer carries the code: the browser does not ask /oauth/authorize again.
    callback = signed_in["Location"]
    assert callback.startswith(f"{WEB_REDIRECT}?")
    assert "code" in query_of(callback)
    assert rp.verify_id_token(rp.fetch_token(callback)["id_token"])["sub"] == str(org_admin.public_id)


def test_prompt_login_forces_a_fresh_sign_in(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    signed_in = sign_in(org_admin)
    response = rp.authorize(signed_in, prompt="login")
    assert response.status_code == 302
    assert response["Location"].startswith("/login?prompt=login&next=")
    assert "prompt%3Dlogin" not in response["Location"]
    page = signed_in.get(response["Location"])
    assert page.status_code == 200
    assert "Sign in" in page.content.decode()


def test_max_age_exceeded_forces_a_fresh_sign_in(oidc, sign_in, org, org_admin):
    from datetime import timedelta

    from django.utils import timezone

    from identity.models import UserSession

    rp = RelyingParty(oidc, make_web_app(org))
    signed_in = sign_in(org_admin)
    UserSession.objects.filter(user=org_admin).update(auth_time=timezone.now() - timedelta(hours=1))
    response = rp.authorize(signed_in, max_age="300")
    assert response["Location"].startswith("/login?prompt=login")
    fresh = rp.authorize(signed_in, max_age="7200")
    assert "code" in query_of(fresh["Location"])


def test_consent_is_asked_once_and_remembered(oidc, sign_in, org, org_admin):
    client = make_web_app(org, trusted=False)
    rp = RelyingParty(oidc, client)
    signed_in = sign_in(org_admin)
    page = rp.authorize(signed_in)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Allow Web RP?" in html
    assert "See your email address" in html
    assert "https://rp.example" in page["Content-Security-Policy"]
    form = page.context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    answer = signed_in.post("/oauth/authorize", {**data, "allow": "true"})
    assert "code" in query_of(answer["Location"])
    consent = Consent.objects.get(user=org_admin, application__client_id=client.client_id)
    assert set(consent.scopes.split()) == {"openid", "profile", "email"}
    assert AuditEvent.objects.filter(action="consent.granted").count() == 1
    again = rp.authorize(signed_in)
    assert again.status_code == 302
    assert "code" in query_of(again["Location"])


def test_denying_consent_answers_access_denied(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_web_app(org, trusted=False))
    signed_in = sign_in(org_admin)
    form = rp.authorize(signed_in).context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    answer = signed_in.post("/oauth/authorize", data)
    assert query_of(answer["Location"])["error"] == "access_denied"
    assert not Consent.objects.exists()


def test_missing_redirect_uri_gets_an_error_page(oidc, sign_in, org, org_admin):
    make_web_app(org)
    response = sign_in(org_admin).get("/oauth/authorize?client_id=web-rp&response_type=code&scope=openid&state=x")
    assert response.status_code == 400
    assert "Location" not in response
    assert "redirect_uri parameter is required" in response.content.decode()


def test_implicit_flow_is_not_offered(oidc, sign_in, org, org_admin):
    make_web_app(org)
    response = sign_in(org_admin).get(f"/oauth/authorize?client_id=web-rp&response_type=token&scope=openid"
                                      f"&state=x&redirect_uri={WEB_REDIRECT}")
    assert "access_token" not in response.get("Location", "")
    assert query_of(response["Location"])["error"] == "unauthorized_client"


def test_an_expired_code_is_refused(oidc, sign_in, org, org_admin):
    from datetime import timedelta

    from django.utils import timezone
    from oauth2_provider.models import get_grant_model

    rp = RelyingParty(oidc, make_web_app(org))
    callback = sign_in_code(rp, sign_in(org_admin))
    get_grant_model().objects.update(expires=timezone.now() - timedelta(seconds=1))
    with pytest.raises(OAuthError) as excinfo:
        rp.fetch_token(callback)
    assert excinfo.value.error == "invalid_grant"


def test_codes_live_one_minute(settings):
    assert settings.OAUTH2_PROVIDER["AUTHORIZATION_CODE_EXPIRE_SECONDS"] == 60


def test_the_orgs_maximum_sign_in_age_applies_to_its_apps(oidc, sign_in, org, org_admin):
    from datetime import timedelta

    from django.utils import timezone

    from identity.models import UserSession

    org.session_max_age_minutes = 30
    org.save()
    rp = RelyingParty(oidc, make_web_app(org))
    signed_in = sign_in(org_admin)
    assert "code" in query_of(rp.authorize(signed_in)["Location"])
    UserSession.objects.filter(user=org_admin).update(auth_time=timezone.now() - timedelta(hours=1))
    assert rp.authorize(signed_in)["Location"].startswith("/login?prompt=login")
    assert query_of(rp.authorize(signed_in, prompt="none")["Location"])["error"] == "login_required"
