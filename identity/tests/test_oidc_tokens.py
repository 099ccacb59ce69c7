"""Refresh rotation and reuse, client credentials, revocation, introspection, CORS and who may sign in."""

import pytest
import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from applications.models import Application
from applications.services import application_create
from audit.models import AuditEvent
from directory.tests.factories import GroupFactory, MembershipFactory
from identity.tests.oidc_support import (
    SPA_ORIGIN,
    RelyingParty,
    issuer_settings,
    make_machine_app,
    make_spa_app,
    make_web_app,
    sign_in_code,
)
from orgs.models import Membership

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def oidc(live_server):
    with issuer_settings(live_server):
        yield live_server


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _signed_in_tokens(oidc, sign_in, user, client):
    rp = RelyingParty(oidc, client)
    return rp, rp.fetch_token(sign_in_code(rp, sign_in(user)))


# ---------------------------------------------------------------------- refresh


def test_refresh_rotates_and_the_new_id_token_keeps_the_session(oidc, sign_in, org, org_admin):
    rp, first = _signed_in_tokens(oidc, sign_in, org_admin, make_web_app(org))
    first_claims = rp.verify_id_token(first["id_token"])
    second = rp.session.refresh_token(rp.metadata["token_endpoint"], refresh_token=first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    claims = rp.verify_id_token(second["id_token"], refreshed=True)
    assert claims["sid"] == first_claims["sid"]
    assert claims["auth_time"] == first_claims["auth_time"]
    assert requests.get(rp.metadata["userinfo_endpoint"], headers=_bearer(second["access_token"]),
                        timeout=10).status_code == 200


def test_replaying_a_rotated_refresh_token_revokes_the_family(oidc, sign_in, org, org_admin, settings):
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0}
    rp, first = _signed_in_tokens(oidc, sign_in, org_admin, make_web_app(org))
    second = rp.session.refresh_token(rp.metadata["token_endpoint"], refresh_token=first["refresh_token"])
    with pytest.raises(OAuthError) as excinfo:
        rp.session.refresh_token(rp.metadata["token_endpoint"], refresh_token=first["refresh_token"])
    assert excinfo.value.error == "invalid_grant"
    # The whole family is gone: the newest refresh token and its access token too.
    with pytest.raises(OAuthError):
        rp.session.refresh_token(rp.metadata["token_endpoint"], refresh_token=second["refresh_token"])
    assert requests.get(rp.metadata["userinfo_endpoint"], headers=_bearer(second["access_token"]),
                        timeout=10).status_code == 401
    assert AuditEvent.objects.filter(action="token.refresh_reused", org=org).exists()


def test_suspended_membership_stops_at_the_next_refresh(oidc, sign_in, org, org_admin):
    rp, token = _signed_in_tokens(oidc, sign_in, org_admin, make_web_app(org))
    Membership.objects.filter(user=org_admin, org=org).update(status=Membership.Status.SUSPENDED)
    with pytest.raises(OAuthError) as excinfo:
        rp.session.refresh_token(rp.metadata["token_endpoint"], refresh_token=token["refresh_token"])
    assert excinfo.value.error == "invalid_grant"
    event = AuditEvent.objects.get(action="token.refresh_refused")
    assert event.metadata["reason"] == "membership_suspended"


def test_membership_removal_revokes_tokens(oidc, sign_in, org, org_admin, operator):
    from orgs.services import membership_remove

    rp, token = _signed_in_tokens(oidc, sign_in, org_admin, make_web_app(org))
    membership_remove(membership=Membership.objects.get(user=org_admin, org=org), actor=operator)
    assert requests.get(rp.metadata["userinfo_endpoint"], headers=_bearer(token["access_token"]),
                        timeout=10).status_code == 401
    with pytest.raises(OAuthError):
        rp.session.refresh_token(rp.metadata["token_endpoint"], refresh_token=token["refresh_token"])
    # A token revoked by an admin action coming back is expected, not reported as theft.
    assert not AuditEvent.objects.filter(action="token.refresh_reused").exists()


def test_app_disable_revokes_tokens_and_refuses_sign_in(oidc, sign_in, org, org_admin, operator):
    from applications.services import application_disable

    client = make_web_app(org)
    rp, token = _signed_in_tokens(oidc, sign_in, org_admin, client)
    application_disable(application=Application.objects.get(client_id=client.client_id), actor=operator)
    assert requests.get(rp.metadata["userinfo_endpoint"], headers=_bearer(token["access_token"]),
                        timeout=10).status_code == 401
    page = rp.authorize(sign_in(org_admin))
    assert page.status_code in (400, 403)
    assert "Location" not in page


# ---------------------------------------------------------------------- who may sign in


def test_group_limited_app_refuses_outsiders_with_a_page_and_admits_members(oidc, sign_in, client, org, org_admin):
    web = make_web_app(org)
    engineering = GroupFactory(org=org, name="Engineering", slug="engineering")
    Application.objects.get(client_id=web.client_id).allowed_groups.add(engineering)
    rp = RelyingParty(oidc, web)
    refused = rp.authorize(sign_in(org_admin))
    assert refused.status_code == 403
    assert "limited to some groups" in refused.content.decode()
    event = AuditEvent.objects.get(action="login.refused")
    assert event.metadata["reason"] == "not_in_allowed_groups"
    assert event.org == org
    engineering.members.add(org_admin)
    assert rp.authorize(sign_in(org_admin)).status_code == 302


def test_group_limited_app_with_prompt_none_answers_access_denied(oidc, sign_in, org, org_admin):
    web = make_web_app(org)
    Application.objects.get(client_id=web.client_id).allowed_groups.add(GroupFactory(org=org))
    rp = RelyingParty(oidc, web)
    response = rp.authorize(sign_in(org_admin), prompt="none")
    assert "error=access_denied" in response["Location"]


def test_another_orgs_member_is_refused(oidc, sign_in, org, other_org_admin):
    rp = RelyingParty(oidc, make_web_app(org))
    refused = rp.authorize(sign_in(other_org_admin))
    assert refused.status_code == 403
    assert "not a member of Acme Corp" in refused.content.decode()


@pytest.mark.parametrize("status", [Membership.Status.SUSPENDED, Membership.Status.INVITED])
def test_inactive_membership_is_refused(oidc, sign_in, org, status):
    user = MembershipFactory(org=org, status=status).user
    rp = RelyingParty(oidc, make_web_app(org))
    refused = rp.authorize(sign_in(user))
    assert refused.status_code == 403
    assert f"is {status}" in refused.content.decode()


# ---------------------------------------------------------------------- client credentials


def test_machine_app_gets_a_token_with_client_credentials(oidc, org):
    machine = make_machine_app(org)
    session = OAuth2Session(machine.client_id, machine.client_secret)
    metadata = requests.get(f"{oidc.url}/.well-known/openid-configuration", timeout=10).json()
    token = session.fetch_token(metadata["token_endpoint"], grant_type="client_credentials")
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] > 0
    assert "refresh_token" not in token


def test_machine_app_with_wrong_secret_is_refused(oidc, org):
    machine = make_machine_app(org)
    response = requests.post(f"{oidc.url}/oauth/token", data={"grant_type": "client_credentials"},
                             auth=(machine.client_id, "wrong"), timeout=10)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_machine_app_cannot_use_the_code_flow(oidc, sign_in, org, org_admin):
    machine = make_machine_app(org)
    response = sign_in(org_admin).get(f"/oauth/authorize?client_id={machine.client_id}&response_type=code"
                                      "&scope=openid&redirect_uri=https://x.example/cb")
    assert response.status_code == 400
    assert "Location" not in response


def test_disabled_machine_app_is_refused(oidc, org):
    machine = make_machine_app(org)
    Application.objects.filter(client_id=machine.client_id).update(status=Application.Status.DISABLED)
    response = requests.post(f"{oidc.url}/oauth/token", data={"grant_type": "client_credentials"},
                             auth=(machine.client_id, machine.client_secret), timeout=10)
    assert response.status_code == 401


# ---------------------------------------------------------------------- revocation and introspection


def _introspect(oidc, client, token, **extra):
    return requests.post(f"{oidc.url}/oauth/introspect", data={"token": token, **extra},
                         auth=(client.client_id, client.client_secret), timeout=10)


def test_introspection_of_own_orgs_tokens(oidc, sign_in, org, org_admin):
    web = make_web_app(org)
    rp, token = _signed_in_tokens(oidc, sign_in, org_admin, web)
    resource_server = make_machine_app(org, client_id="acme-api")
    answer = _introspect(oidc, resource_server, token["access_token"]).json()
    assert answer["active"] is True
    assert answer["client_id"] == web.client_id
    assert answer["sub"] == str(org_admin.public_id)
    assert "openid" in answer["scope"]
    assert answer["exp"] > answer["iat"]
    refresh = _introspect(oidc, resource_server, token["refresh_token"], token_type_hint="refresh_token").json()
    assert refresh["active"] is True
    assert refresh["token_type"] == "refresh_token"


def test_introspection_of_another_orgs_token_is_inactive(oidc, sign_in, org, other_org, org_admin):
    rp, token = _signed_in_tokens(oidc, sign_in, org_admin, make_web_app(org))
    globex_client = make_machine_app(other_org, client_id="globex-api")
    assert _introspect(oidc, globex_client, token["access_token"]).json() == {"active": False}
    assert _introspect(oidc, globex_client, token["refresh_token"]).json() == {"active": False}


def test_introspection_needs_client_authentication(oidc, org):
    machine = make_machine_app(org)
    response = requests.post(f"{oidc.url}/oauth/introspect", data={"token": "x"},
                             auth=(machine.client_id, "wrong"), timeout=10)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    unknown = requests.post(f"{oidc.url}/oauth/introspect", data={"token": "x"}, timeout=10)
    assert unknown.status_code == 401
    missing = requests.post(f"{oidc.url}/oauth/introspect", data={},
                            auth=(machine.client_id, machine.client_secret), timeout=10)
    assert missing.status_code == 400
    assert _introspect(oidc, machine, "no-such-token").json() == {"active": False}


def test_public_clients_cannot_introspect(oidc, sign_in, org, org_admin):
    spa = make_spa_app(org)
    response = requests.post(f"{oidc.url}/oauth/introspect", data={"token": "x", "client_id": spa.client_id},
                             timeout=10)
    assert response.status_code == 401


def test_revocation_of_an_access_token(oidc, sign_in, org, org_admin):
    rp, token = _signed_in_tokens(oidc, sign_in, org_admin, make_web_app(org))
    response = requests.post(rp.metadata["revocation_endpoint"], data={"token": token["access_token"]},
                             auth=(rp.client.client_id, rp.client.client_secret), timeout=10)
    assert response.status_code == 200
    assert requests.get(rp.metadata["userinfo_endpoint"], headers=_bearer(token["access_token"]),
                        timeout=10).status_code == 401


def test_revocation_of_a_refresh_token(oidc, sign_in, org, org_admin):
    rp, token = _signed_in_tokens(oidc, sign_in, org_admin, make_web_app(org))
    requests.post(rp.metadata["revocation_endpoint"],
                  data={"token": token["refresh_token"], "token_type_hint": "refresh_token"},
                  auth=(rp.client.client_id, rp.client.client_secret), timeout=10)
    with pytest.raises(OAuthError):
        rp.session.refresh_token(rp.metadata["token_endpoint"], refresh_token=token["refresh_token"])


def test_revocation_with_wrong_secret_changes_nothing(oidc, sign_in, org, org_admin):
    rp, token = _signed_in_tokens(oidc, sign_in, org_admin, make_web_app(org))
    response = requests.post(rp.metadata["revocation_endpoint"], data={"token": token["access_token"]},
                             auth=(rp.client.client_id, "wrong"), timeout=10)
    assert response.status_code == 401
    assert requests.get(rp.metadata["userinfo_endpoint"], headers=_bearer(token["access_token"]),
                        timeout=10).status_code == 200


# ---------------------------------------------------------------------- CORS


@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/userinfo", "/oauth/revoke"])
def test_cors_only_for_registered_spa_origins(oidc, org, path):
    make_spa_app(org)
    allowed = requests.options(f"{oidc.url}{path}", headers={
        "Origin": SPA_ORIGIN, "Access-Control-Request-Method": "POST"}, timeout=10)
    assert allowed.headers.get("Access-Control-Allow-Origin") == SPA_ORIGIN
    assert "POST" in allowed.headers.get("Access-Control-Allow-Methods", "")
    refused = requests.options(f"{oidc.url}{path}", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_cors_on_a_real_token_response(oidc, sign_in, org, org_admin):
    rp = RelyingParty(oidc, make_spa_app(org))
    callback = sign_in_code(rp, sign_in(org_admin))
    rp.session.headers["Origin"] = SPA_ORIGIN
    rp.fetch_token(callback)
    from urllib.parse import parse_qs, urlparse

    code = parse_qs(urlparse(callback).query)["code"][0]
    # A second exchange is refused, but the browser must still be able to read the error.
    response = requests.post(rp.metadata["token_endpoint"], data={
        "grant_type": "authorization_code", "code": code, "client_id": rp.client.client_id,
        "redirect_uri": rp.client.redirect_uri, "code_verifier": rp.code_verifier,
    }, headers={"Origin": SPA_ORIGIN}, timeout=10)
    assert response.headers["Access-Control-Allow-Origin"] == SPA_ORIGIN
    evil = requests.post(rp.metadata["token_endpoint"], data={"grant_type": "client_credentials"},
                         headers={"Origin": "https://evil.example"}, timeout=10)
    assert "Access-Control-Allow-Origin" not in evil.headers


def test_native_app_loopback_redirect_matches_any_port(oidc, sign_in, org, org_admin):
    created = application_create(org=org, name="CLI", kind="native",
                                 redirect_uris=["http://127.0.0.1/callback", "com.example.cli:/callback"],
                                 client_id="cli")
    Application.objects.filter(pk=created.application.pk).update(skip_authorization=True)
    from identity.tests.oidc_support import Client

    for redirect in ("http://127.0.0.1:53100/callback", "com.example.cli:/callback"):
        rp = RelyingParty(oidc, Client("cli", None, redirect))
        token = rp.fetch_token(sign_in_code(rp, sign_in(org_admin)))
        assert rp.verify_id_token(token["id_token"])["sub"] == str(org_admin.public_id)
    web = make_web_app(org)
    rp = RelyingParty(oidc, web)
    rp.session.redirect_uri = "http://127.0.0.1:4999/callback"
    assert rp.authorize(sign_in(org_admin)).status_code == 400


def test_access_token_lifetime_per_application(oidc, org):
    machine = make_machine_app(org)
    Application.objects.filter(client_id=machine.client_id).update(access_token_lifetime=120)
    response = requests.post(f"{oidc.url}/oauth/token", data={"grant_type": "client_credentials"},
                             auth=(machine.client_id, machine.client_secret), timeout=10)
    assert response.json()["expires_in"] == 120
    default = make_machine_app(org, client_id="other-machine")
    response = requests.post(f"{oidc.url}/oauth/token", data={"grant_type": "client_credentials"},
                             auth=(default.client_id, default.client_secret), timeout=10)
    assert response.json()["expires_in"] == 3600
