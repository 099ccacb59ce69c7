"""amr and acr in ID tokens (verified with the published JWKS by Authlib/joserfc), discovery, and step-up
for an application that asks for MFA with acr_values."""

import pytest
import requests

from audit.models import AuditEvent
from identity.mfa.tests.support import code_at, enrol_totp, post_code, post_password, shows_second_factor_step
from identity.models import UserSession
from identity.tests.oidc_support import RelyingParty, issuer_settings, make_web_app, query_of

pytestmark = pytest.mark.django_db(transaction=True)

MFA = "urn:gatehouse:acr:mfa"
PWD = "urn:gatehouse:acr:pwd"


@pytest.fixture
def oidc(live_server):
    with issuer_settings(live_server):
        yield live_server


def _sign_in_through_app(client, rp, user, totp=None, **params):
    """The hosted sign-in, started by the app: password (and a code); the last step's answer sends the
    browser to the app with its code."""
    start = client.get(rp.path_of(rp.authorization_url(**params)))
    assert start.status_code == 302
    assert start["Location"].startswith("/login?")
    next_url = query_of(start["Location"])["next"]
    response = post_password(client, user.email, next_url=next_url)
    if totp is not None:
        assert shows_second_factor_step(response)
        response = post_code(client, code_at(totp))
    assert response.status_code == 302
    assert response["Location"].startswith(f"{rp.client.redirect_uri}?")
    return response["Location"]


def test_discovery_lists_the_acr_values_and_the_acr_claim(oidc):
    metadata = requests.get(f"{oidc.url}/.well-known/openid-configuration", timeout=10).json()

    assert metadata["acr_values_supported"] == [PWD, MFA, "phr"]
    assert "acr" in metadata["claims_supported"]
    assert "amr" in metadata["claims_supported"]


def test_password_and_code_give_amr_mfa_and_acr_mfa_in_the_verified_id_token(oidc, client, org, org_member):
    _, totp = enrol_totp(org_member)
    rp = RelyingParty(oidc, make_web_app(org))

    callback = _sign_in_through_app(client, rp, org_member, totp)
    claims = rp.verify_id_token(rp.fetch_token(callback)["id_token"])

    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["acr"] == MFA


def test_password_alone_gives_acr_pwd(oidc, client, org, org_member):
    rp = RelyingParty(oidc, make_web_app(org))

    claims = rp.verify_id_token(rp.fetch_token(_sign_in_through_app(client, rp, org_member))["id_token"])

    assert claims["amr"] == ["pwd"]
    assert claims["acr"] == PWD


def test_an_app_asking_for_mfa_steps_up_a_password_session(oidc, client, sign_in, org, org_member):
    _, totp = enrol_totp(org_member)
    rp = RelyingParty(oidc, make_web_app(org))
    signed_in = sign_in(org_member)  # a session signed in with the password only
    sid = signed_in.session["gatehouse.sid"]

    step = signed_in.get(rp.path_of(rp.authorization_url(acr_values=MFA)))
    assert step.status_code == 302
    assert step["Location"] == "/login/verify"
    back = post_code(signed_in, code_at(totp))  # the second factor's answer carries the app's code
    assert back["Location"].startswith(f"{rp.client.redirect_uri}?")
    claims = rp.verify_id_token(rp.fetch_token(back["Location"])["id_token"])

    assert claims["acr"] == MFA
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    # The same session, stepped up: the apps it signed in to are not signed out.
    assert claims["sid"] == sid
    assert UserSession.objects.get(sid=sid).ended_at is None
    event = AuditEvent.objects.get(action="session.stepped_up")
    assert (event.actor, event.metadata) == (org_member, {"amr": ["pwd", "otp", "mfa"], "sid": sid})


def test_prompt_none_with_an_unmet_acr_answers_interaction_required(oidc, client, sign_in, org, org_member):
    enrol_totp(org_member)
    rp = RelyingParty(oidc, make_web_app(org))

    response = sign_in(org_member).get(rp.path_of(rp.authorization_url(acr_values=MFA, prompt="none")))

    assert response.status_code == 302
    assert query_of(response["Location"])["error"] == "interaction_required"


def test_an_app_asking_for_mfa_of_a_user_without_a_factor_takes_them_to_enrolment(oidc, client, sign_in, org,
                                                                                   org_member):
    rp = RelyingParty(oidc, make_web_app(org))

    response = sign_in(org_member).get(rp.path_of(rp.authorization_url(acr_values=MFA)))

    assert response["Location"] == "/login/enrol"
    page = client.get("/login/enrol")
    assert "The application you are signing in to asks for two-step verification." in page.content.decode()
    assert "Skip until" not in page.content.decode()


def test_unknown_acr_values_are_ignored(oidc, client, sign_in, org, org_member):
    rp = RelyingParty(oidc, make_web_app(org))

    response = sign_in(org_member).get(rp.path_of(rp.authorization_url(acr_values="urn:other:gold")))

    assert response["Location"].startswith(rp.client.redirect_uri)
    assert "code" in query_of(response["Location"])


def test_a_policy_covering_the_user_steps_up_a_password_session_at_the_orgs_app(oidc, client, sign_in, org,
                                                                                org_admin):
    _, totp = enrol_totp(org_admin)
    org.mfa_policy = "console_roles"
    org.save()
    rp = RelyingParty(oidc, make_web_app(org))

    response = sign_in(org_admin).get(rp.path_of(rp.authorization_url()))

    assert response["Location"] == "/login/verify"


def test_introspection_says_how_the_person_signed_in(oidc, client, org, org_member):
    _, totp = enrol_totp(org_member)
    app = make_web_app(org)
    rp = RelyingParty(oidc, app)
    token = rp.fetch_token(_sign_in_through_app(client, rp, org_member, totp))

    answer = requests.post(rp.metadata["introspection_endpoint"], data={"token": token["access_token"]},
                           auth=(app.client_id, app.client_secret), timeout=10).json()
    refreshed = rp.session.refresh_token(rp.metadata["token_endpoint"], refresh_token=token["refresh_token"])
    again = requests.post(rp.metadata["introspection_endpoint"], data={"token": refreshed["access_token"]},
                          auth=(app.client_id, app.client_secret), timeout=10).json()

    assert answer["active"] is True
    assert answer["acr"] == MFA
    assert answer["amr"] == ["pwd", "otp", "mfa"]
    assert abs(answer["auth_time"] - answer["iat"]) < 60
    assert (again["acr"], again["amr"], again["auth_time"]) == (MFA, ["pwd", "otp", "mfa"], answer["auth_time"])


def test_a_fresh_sign_in_for_an_app_asking_for_mfa_sets_up_a_factor_first(oidc, client, org, org_member):
    rp = RelyingParty(oidc, make_web_app(org))
    start = client.get(rp.path_of(rp.authorization_url(acr_values=MFA)))
    next_url = query_of(start["Location"])["next"]

    response = post_password(client, org_member.email, next_url=next_url)

    assert response["Location"] == "/login/enrol"
    assert client.post("/login/enrol", {"action": "skip"}).status_code == 403
    assert "_auth_user_id" not in client.session
