"""Per-application OAuth policy in real requests: refresh token lifetime, allowed scopes at /authorize
and /token, and the RFC 6749 §5.2 error for a redirect_uri that does not match at /token."""

import base64
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.utils import timezone
from oauth2_provider.models import get_refresh_token_model

from applications.models import Application
from applications.services import application_create, application_update
from applications.tests.token_factories import issue_tokens
from audit.models import AuditEvent
from config.exceptions import DomainError
from identity.tests.oidc_support import WEB_REDIRECT, make_machine_app, make_web_app

pytestmark = pytest.mark.django_db
RefreshToken = get_refresh_token_model()


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def refresh(client, made, refresh_token: str):
    return client.post("/oauth/token", {"grant_type": "refresh_token", "refresh_token": refresh_token},
                       HTTP_AUTHORIZATION=basic(made.client_id, made.client_secret))


def authorize(signed_in, made, *, scope="openid", redirect_uri=WEB_REDIRECT):
    """GET /authorize as the signed-in browser; returns (response, code_verifier)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    query = urlencode({"response_type": "code", "client_id": made.client_id, "redirect_uri": redirect_uri,
                       "scope": scope, "state": "st", "nonce": "n", "code_challenge": challenge,
                       "code_challenge_method": "S256"})
    return signed_in.get(f"/oauth/authorize?{query}"), verifier


def callback_params(response) -> dict[str, str]:
    assert response.status_code == 302, response.content[:400]
    return {key: values[0] for key, values in parse_qs(urlparse(response["Location"]).query).items()}


# ------------------------------------------------------------------------------------------ refresh lifetime

def _web_with_tokens(org, org_admin, *, lifetime):
    made = make_web_app(org, refresh_token_lifetime=lifetime)
    app = Application.objects.get(client_id=made.client_id)
    issued = issue_tokens(application=app, user=org_admin)
    return made, issued


def test_refresh_token_within_its_apps_lifetime_is_honoured(client, org, org_admin):
    made, issued = _web_with_tokens(org, org_admin, lifetime=7200)
    RefreshToken.objects.filter(pk=issued.refresh.pk).update(created=timezone.now() - timedelta(seconds=7000))
    response = refresh(client, made, issued.refresh.token)
    assert response.status_code == 200, response.content
    assert response.json()["refresh_token"]


def test_refresh_token_older_than_its_apps_lifetime_is_invalid_grant(client, org, org_admin):
    made, issued = _web_with_tokens(org, org_admin, lifetime=7200)
    RefreshToken.objects.filter(pk=issued.refresh.pk).update(created=timezone.now() - timedelta(seconds=7201))
    response = refresh(client, made, issued.refresh.token)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    # Refused, not rotated: the token is still there, unrevoked, for nothing.
    assert RefreshToken.objects.get(pk=issued.refresh.pk).revoked is None


def test_app_lifetime_longer_than_the_deployments_is_honoured(client, org, org_admin, settings):
    made, issued = _web_with_tokens(org, org_admin, lifetime=90 * 24 * 3600)
    # Under the deployment default (30 days after the access token's expiry) this one would be refused.
    RefreshToken.objects.filter(pk=issued.refresh.pk).update(created=timezone.now() - timedelta(days=60))
    issued.access.__class__.objects.filter(pk=issued.access.pk).update(
        expires=timezone.now() - timedelta(days=59))
    assert refresh(client, made, issued.refresh.token).status_code == 200


def test_no_app_lifetime_keeps_the_deployment_default(client, org, org_admin, settings):
    assert settings.OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"] == 30 * 24 * 3600
    made, issued = _web_with_tokens(org, org_admin, lifetime=None)
    issued.access.__class__.objects.filter(pk=issued.access.pk).update(
        expires=timezone.now() - timedelta(days=31))
    assert refresh(client, made, issued.refresh.token).json()["error"] == "invalid_grant"


@pytest.mark.parametrize("seconds", [3599, 365 * 24 * 3600 + 1])
def test_refresh_lifetime_out_of_bounds_is_refused(org, seconds):
    with pytest.raises(DomainError) as caught:
        application_create(org=org, name="W", kind="web", redirect_uris=[WEB_REDIRECT],
                           refresh_token_lifetime=seconds)
    assert caught.value.field == "refresh_token_lifetime"
    assert not Application.objects.exists()


def test_machine_apps_take_no_refresh_lifetime(org):
    with pytest.raises(DomainError):
        application_create(org=org, name="M", kind="machine", refresh_token_lifetime=7200)


def test_update_audits_refresh_lifetime_and_scopes(org, org_admin):
    app = application_create(org=org, name="W", kind="web", redirect_uris=[WEB_REDIRECT]).application
    application_update(application=app, actor=org_admin, name="W", redirect_uris=[WEB_REDIRECT],
                       refresh_token_lifetime=86400, allowed_scopes=["email", "openid"])
    event = AuditEvent.objects.get(action="application.updated")
    assert event.actor == org_admin
    assert event.metadata["before"] == {"refresh_token_lifetime": None, "allowed_scopes": []}
    assert event.metadata["after"] == {"refresh_token_lifetime": 86400, "allowed_scopes": ["openid", "email"]}


# ------------------------------------------------------------------------------------------ allowed scopes

def test_scopes_must_be_supported_and_keep_openid_for_sign_in_kinds(org):
    with pytest.raises(DomainError, match="openid"):
        application_create(org=org, name="W", kind="web", redirect_uris=[WEB_REDIRECT], allowed_scopes=["email"])
    with pytest.raises(DomainError, match="Unknown scope"):
        application_create(org=org, name="W", kind="web", redirect_uris=[WEB_REDIRECT],
                           allowed_scopes=["openid", "admin"])
    assert not Application.objects.exists()
    machine = application_create(org=org, name="M", kind="machine", allowed_scopes=["profile"]).application
    assert machine.allowed_scopes == "profile"


def test_authorize_within_allowed_scopes_issues_a_code(sign_in, org, org_admin):
    made = make_web_app(org, allowed_scopes="openid email")
    params = callback_params(authorize(sign_in(org_admin), made, scope="openid email")[0])
    assert params["code"]


def test_authorize_outside_allowed_scopes_is_invalid_scope(sign_in, org, org_admin):
    made = make_web_app(org, allowed_scopes="openid email")
    params = callback_params(authorize(sign_in(org_admin), made, scope="openid profile")[0])
    assert params["error"] == "invalid_scope"
    assert "code" not in params
    assert params["state"] == "st"


def test_client_credentials_never_carry_openid_connect_scopes_even_when_allowed(client, org):
    made = make_machine_app(org)
    Application.objects.filter(client_id=made.client_id).update(allowed_scopes="profile")
    auth = basic(made.client_id, made.client_secret)
    refused = client.post("/oauth/token", {"grant_type": "client_credentials", "scope": "profile"},
                          HTTP_AUTHORIZATION=auth)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"
    # No scope asked for: a token without scope, not a refusal.
    default = client.post("/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=auth)
    assert default.status_code == 200, default.content
    assert default.json()["scope"] == ""


def test_no_allowed_scopes_means_every_supported_scope(client, sign_in, org, org_admin):
    made = make_web_app(org)
    response, verifier = authorize(sign_in(org_admin), made, scope="openid profile email")
    code = callback_params(response)["code"]
    token = client.post("/oauth/token", {"grant_type": "authorization_code", "code": code, "redirect_uri": WEB_REDIRECT,
                                         "code_verifier": verifier},
                        HTTP_AUTHORIZATION=basic(made.client_id, made.client_secret))
    assert token.status_code == 200, token.content
    assert token.json()["scope"] == "openid profile email"


# ------------------------------------------------------------------------------------------ redirect_uri at /token

def _code(sign_in, org, org_admin):
    made = make_web_app(org)
    Application.objects.filter(client_id=made.client_id).update(
        redirect_uris=f"{WEB_REDIRECT} https://rp.example/other")
    response, verifier = authorize(sign_in(org_admin), made)
    return made, callback_params(response)["code"], verifier


def test_redirect_uri_mismatch_at_token_is_invalid_grant(client, sign_in, org, org_admin):
    made, code, verifier = _code(sign_in, org, org_admin)
    # Registered for the app, but not the one the code was issued for (RFC 6749 §4.1.3, §5.2).
    response = client.post("/oauth/token", {"grant_type": "authorization_code", "code": code,
                                            "redirect_uri": "https://rp.example/other", "code_verifier": verifier},
                           HTTP_AUTHORIZATION=basic(made.client_id, made.client_secret))
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_matching_redirect_uri_at_token_gets_tokens(client, sign_in, org, org_admin):
    made, code, verifier = _code(sign_in, org, org_admin)
    response = client.post("/oauth/token", {"grant_type": "authorization_code", "code": code,
                                            "redirect_uri": WEB_REDIRECT, "code_verifier": verifier},
                           HTTP_AUTHORIZATION=basic(made.client_id, made.client_secret))
    assert response.status_code == 200, response.content
    assert response.json()["id_token"]


# ------------------------------------------------------------------------------------------ console forms

def _url(name, org, *args):
    from django.urls import reverse

    return reverse(f"console:{name}", args=[org.slug, *args])


def test_create_form_offers_scopes_and_refresh_lifetime_and_keeps_openid(org_admin_client, org, org_admin):
    page = org_admin_client.get(_url("app-create", org, "web")).content.decode()
    for text in ("Allowed scopes", "openid — Sign you in", "profile — See your name", "email — See your email address",
                 "Refresh token lifetime", 'placeholder="2592000"'):
        assert text in page
    response = org_admin_client.post(_url("app-create", org, "web"), {
        "name": "HR", "redirect_uris": "https://hr.example/cb", "allowed_scopes": ["email"],
        "refresh_token_lifetime": "86400"})
    assert response.status_code == 200
    app = Application.objects.get(name="HR")
    assert app.allowed_scopes == "openid email"  # openid added: a sign-in app needs it
    assert app.refresh_token_lifetime == 86400
    event = AuditEvent.objects.get(action="application.created")
    assert event.actor == org_admin
    assert event.metadata["allowed_scopes"] == ["openid", "email"]
    assert event.metadata["refresh_token_lifetime"] == 86400
    detail = org_admin_client.get(_url("app-detail", org, app.pk)).content.decode()
    assert "86400 seconds" in detail
    assert "<code>openid</code> <code>email</code>" in detail
    assert "&quot;scope&quot;: &quot;openid email&quot;" in detail  # the snippet asks only for allowed scopes


def test_machine_form_has_scopes_but_no_refresh_lifetime(org_admin_client, org):
    page = org_admin_client.get(_url("app-create", org, "machine")).content.decode()
    assert "Refresh token lifetime" not in page
    assert "Allowed scopes" in page
    org_admin_client.post(_url("app-create", org, "machine"), {"name": "Sync", "allowed_scopes": ["profile"],
                                                               "refresh_token_lifetime": "86400"})
    app = Application.objects.get(name="Sync")
    assert app.allowed_scopes == "profile"
    assert app.refresh_token_lifetime is None


@pytest.mark.parametrize(("field", "value", "message"), [
    ("refresh_token_lifetime", "60", "greater than or equal to 3600"),
    ("refresh_token_lifetime", "99999999", "less than or equal to 31536000"),
    ("allowed_scopes", "admin", "Select a valid choice"),
])
def test_edit_form_refuses_bad_values_and_changes_nothing(org_admin_client, org, field, value, message):
    app = application_create(org=org, name="HR", kind="web", redirect_uris=["https://hr.example/cb"]).application
    response = org_admin_client.post(_url("app-edit", org, app.pk), {
        "name": "HR", "redirect_uris": "https://hr.example/cb", field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    app.refresh_from_db()
    assert app.refresh_token_lifetime is None
    assert app.allowed_scopes == ""
    assert not AuditEvent.objects.filter(action="application.updated").exists()


def test_edit_form_shows_and_clears_the_limits(org_admin_client, org, org_admin):
    app = application_create(org=org, name="HR", kind="web", redirect_uris=["https://hr.example/cb"],
                             allowed_scopes=["openid", "email"], refresh_token_lifetime=7200).application
    page = org_admin_client.get(_url("app-edit", org, app.pk)).content.decode()
    assert 'value="7200"' in page
    assert 'value="email" id="id_allowed_scopes_2" checked' in page
    assert 'value="profile" id="id_allowed_scopes_1">' in page
    org_admin_client.post(_url("app-edit", org, app.pk), {"name": "HR", "redirect_uris": "https://hr.example/cb"})
    app.refresh_from_db()
    assert app.allowed_scopes == ""
    assert app.refresh_token_lifetime is None
    event = AuditEvent.objects.get(action="application.updated")
    assert event.actor == org_admin
    assert event.metadata["before"] == {"refresh_token_lifetime": 7200, "allowed_scopes": ["openid", "email"]}
    assert event.metadata["after"] == {"refresh_token_lifetime": None, "allowed_scopes": []}
