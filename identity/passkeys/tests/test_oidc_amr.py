"""A passkey sign-in started by an application: the ID token's amr and acr, verified with the published
JWKS, say what the passkey proved (swk or hwk, mfa, phishing-resistant)."""

import pytest

from identity.passkeys.tests.authenticator import SoftAuthenticator
from identity.passkeys.tests.support import post_json, register
from identity.tests.oidc_support import RelyingParty, issuer_settings, make_web_app, query_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def oidc(live_server):
    with issuer_settings(live_server):
        yield live_server


def _passkey_sign_in_through_app(client, rp, authenticator) -> str:
    start = client.get(rp.path_of(rp.authorization_url()))
    assert start["Location"].startswith("/login?")
    next_url = query_of(start["Location"])["next"]
    options = post_json(client, "/passkeys/login/options").json()
    answer = post_json(client, "/passkeys/login/verify", {"credential": authenticator.get(options), "next": next_url})
    assert answer.json() == {"redirect": next_url}
    callback = client.get(next_url)
    assert callback["Location"].startswith(rp.client.redirect_uri)
    return callback["Location"]


@pytest.mark.parametrize(("synced", "amr"), [(True, ["swk", "mfa"]), (False, ["hwk", "mfa"])])
def test_a_passwordless_passkey_sign_in_gives_amr_and_a_phishing_resistant_acr(oidc, client, sign_in, org, org_member,
                                                                               synced, amr):
    authenticator = SoftAuthenticator(origin=oidc.url, rp_id="localhost", synced=synced)
    assert register(sign_in(org_member), authenticator).status_code == 201
    client.logout()
    rp = RelyingParty(oidc, make_web_app(org))

    claims = rp.verify_id_token(rp.fetch_token(_passkey_sign_in_through_app(client, rp, authenticator))["id_token"])

    assert claims["amr"] == amr
    assert claims["acr"] == "phr"
