"""Registered APIs (issue #10 part 2): JWT access tokens (RFC 9068) verified with PyJWT against the published
JWKS, resource indicators (RFC 8707), API scopes on consent, introspection by the API itself."""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from applications.api_services import api_create, application_api_scopes_set
from applications.models import Api, ApiScope, Application, Consent
from identity.signing import jwt_sign
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

ORDERS = "https://orders.acme.test"


@pytest.fixture
def oidc(live_server):
    with issuer_settings(live_server):
        yield live_server


@pytest.fixture
def orders(org):
    return api_create(org=org, name="Orders API", identifier=ORDERS,
                      scopes=[("orders:read", "See your orders"), ("orders:write", "Place and change orders")])


@pytest.fixture
def machine(org, orders):
    client = make_machine_app(org)
    grant(client.client_id, "orders:read")
    return client


def grant(client_id: str, *names: str) -> None:
    application = Application.objects.get(client_id=client_id)
    application_api_scopes_set(application=application, scopes=ApiScope.objects.filter(org=application.org,
                                                                                          name__in=names))


def token_request(oidc, client, **data):
    return requests.post(f"{oidc.url}/oauth/token", data={"grant_type": "client_credentials", **data},
                         auth=(client.client_id, client.client_secret), timeout=10)


def verify(oidc, token: str, *, audience: str = ORDERS) -> dict:
    """PyJWT, as a resource server would: the key from JWKS by kid, RS256 only, issuer and audience."""
    keys = jwt.PyJWKClient(f"{oidc.url}/.well-known/jwks.json")
    key = keys.get_signing_key_from_jwt(token)
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=audience, issuer=oidc.url,
                      options={"require": ["exp", "iat", "nbf", "jti", "sub", "client_id", "scope"]})


def hmac_jwt(claims: dict, key: bytes) -> str:
    """A JWT "signed" with HMAC-SHA256 under `key`, built by hand (PyJWT rightly refuses a PEM key as an
    HMAC secret)."""
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'at+jwt'}).encode())}.{b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())}"


def introspect(oidc, credential: tuple[str, str], token: str) -> dict:
    response = requests.post(f"{oidc.url}/oauth/introspect", data={"token": token}, auth=credential, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


# ------------------------------------------------------------------ client credentials


def test_a_machine_gets_a_jwt_for_the_api_scopes_it_was_granted_and_nothing_is_stored(oidc, machine, orders):
    answer = token_request(oidc, machine, scope="orders:read")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["scope"] == "orders:read"
    assert body["expires_in"] == 600
    claims = verify(oidc, body["access_token"])
    assert claims["sub"] == machine.client_id
    assert claims["client_id"] == machine.client_id
    assert claims["scope"] == "orders:read"
    assert claims["exp"] - claims["iat"] == 600
    assert "auth_time" not in claims
    assert not get_access_token_model().objects.exists()


def test_a_resource_alone_gets_every_scope_of_that_api_the_machine_holds(oidc, machine):
    body = token_request(oidc, machine, resource=ORDERS).json()
    assert body["scope"] == "orders:read"
    assert verify(oidc, body["access_token"])["aud"] == ORDERS


def test_an_expired_jwt_fails_verification(oidc, machine, orders):
    Api.objects.filter(pk=orders.api.pk).update(access_token_lifetime=60)
    token = token_request(oidc, machine, scope="orders:read").json()["access_token"]
    key = jwt.PyJWKClient(f"{oidc.url}/.well-known/jwks.json").get_signing_key_from_jwt(token).key
    # As a resource server would, 61 seconds later (a negative leeway moves "now" forward).
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(token, key, algorithms=["RS256"], audience=ORDERS, leeway=-61,
                   options={"verify_iat": False, "verify_nbf": False})


def test_a_jwt_for_one_api_is_refused_by_another_audience(oidc, machine):
    token = token_request(oidc, machine, scope="orders:read").json()["access_token"]
    with pytest.raises(jwt.InvalidAudienceError):
        verify(oidc, token, audience="https://billing.acme.test")


@pytest.mark.parametrize(("data", "error"), [
    ({"scope": "orders:write"}, "invalid_scope"),  # defined by the API, not granted to this app
    ({"scope": "orders:nope"}, "invalid_scope"),
    ({"resource": "https://unknown.acme.test"}, "invalid_target"),
    ({"resource": "not a uri"}, "invalid_target"),
    ({"resource": "/relative"}, "invalid_target"),
    ({"resource": "https://orders.acme.test#frag"}, "invalid_target"),
    ({"resource": "https://" + "a" * 300}, "invalid_target"),
    ({"resource": [ORDERS, "https://other.acme.test"]}, "invalid_target"),
    ({"scope": "openid orders:read"}, "invalid_scope"),
])
def test_bad_targets_get_the_rfc_error(oidc, machine, data, error):
    answer = token_request(oidc, machine, **data)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == error


def test_another_orgs_api_is_an_unknown_target(oidc, machine, other_org):
    api_create(org=other_org, name="Globex billing", identifier="https://billing.globex.test",
               scopes=[("billing:read", "See invoices")])
    assert token_request(oidc, machine, resource="https://billing.globex.test").json()["error"] == "invalid_target"
    assert token_request(oidc, machine, scope="billing:read").json()["error"] == "invalid_scope"


def test_scopes_of_two_apis_in_one_request_are_refused(oidc, org, machine):
    api_create(org=org, name="Billing", identifier="https://billing.acme.test", scopes=[("billing:read", "Bills")])
    grant(machine.client_id, "orders:read", "billing:read")
    answer = token_request(oidc, machine, scope="orders:read billing:read")
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_scope"
    mixed = token_request(oidc, machine, scope="billing:read", resource=ORDERS)
    assert mixed.json()["error"] == "invalid_scope"


def test_an_opaque_api_gets_an_opaque_token_that_it_introspects(oidc, org, machine, orders):
    Api.objects.filter(pk=orders.api.pk).update(token_format=Api.TokenFormat.OPAQUE)
    body = token_request(oidc, machine, scope="orders:read").json()
    assert body["access_token"].count(".") == 0
    row = get_access_token_model().objects.get()
    assert row.resource == [ORDERS]
    answer = introspect(oidc, (orders.api.client_id, orders.client_secret), body["access_token"])
    assert answer["active"] is True
    assert answer["aud"] == ORDERS
    assert answer["scope"] == "orders:read"
    assert answer["client_id"] == machine.client_id
    assert answer["sub"] == machine.client_id
    assert {"iss", "exp", "iat", "nbf", "jti", "token_type"} <= set(answer)


# ------------------------------------------------------------------ introspection by the API


def test_the_api_introspects_its_own_audience_only(oidc, org, machine, orders):
    billing = api_create(org=org, name="Billing", identifier="https://billing.acme.test",
                         scopes=[("billing:read", "Bills")])
    orders_token = token_request(oidc, machine, scope="orders:read").json()["access_token"]
    answer = introspect(oidc, (orders.api.client_id, orders.client_secret), orders_token)
    assert answer["active"] is True
    claims = verify(oidc, orders_token)
    assert {name: answer[name] for name in ("aud", "iss", "sub", "client_id", "scope", "exp", "iat", "nbf", "jti")} \
        == {name: claims[name] for name in ("aud", "iss", "sub", "client_id", "scope", "exp", "iat", "nbf", "jti")}
    assert answer["token_type"] == "Bearer"
    # Another API of the same org learns nothing about it; nor about an OIDC-only token.
    assert introspect(oidc, (billing.api.client_id, billing.client_secret), orders_token) == {"active": False}
    plain = token_request(oidc, machine).json()["access_token"]
    assert introspect(oidc, (orders.api.client_id, orders.client_secret), plain) == {"active": False}


def test_an_api_with_a_wrong_secret_is_refused(oidc, machine, orders):
    token = token_request(oidc, machine, scope="orders:read").json()["access_token"]
    response = requests.post(f"{oidc.url}/oauth/introspect", data={"token": token},
                             auth=(orders.api.client_id, "wrong"), timeout=10)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_machine_jwt_is_inactive_once_its_application_is_disabled(oidc, machine, orders):
    token = token_request(oidc, machine, scope="orders:read").json()["access_token"]
    Application.objects.filter(client_id=machine.client_id).update(status=Application.Status.DISABLED)
    assert introspect(oidc, (orders.api.client_id, orders.client_secret), token) == {"active": False}


def test_a_forged_or_altered_jwt_is_inactive(oidc, machine, orders):
    token = token_request(oidc, machine, scope="orders:read").json()["access_token"]
    header, payload, signature = token.split(".")
    altered_payload = base64.urlsafe_b64encode(
        base64.urlsafe_b64decode(payload + "==").replace(b"orders:read", b"orders:rite")).rstrip(b"=").decode()
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"at+jwt"}').rstrip(b"=").decode()
    claims = jwt.decode(token, options={"verify_signature": False})
    # HS256 keyed with the published public key: the classic algorithm-confusion forgery.
    public_pem = jwt.PyJWKClient(f"{oidc.url}/.well-known/jwks.json").get_signing_key_from_jwt(token).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    hs256 = hmac_jwt(claims, public_pem)
    wrong_typ = jwt_sign(claims, typ="JWT")  # our key, but not an access token
    credential = (orders.api.client_id, orders.client_secret)
    for forged in (f"{header}.{altered_payload}.{signature}", f"{none_header}.{payload}.", hs256, wrong_typ,
                   "a.b.c", "x" * 20000):
        assert introspect(oidc, credential, forged) == {"active": False}
    assert introspect(oidc, credential, token)["active"] is True


# ------------------------------------------------------------------ a person's token for an API


@pytest.fixture
def web_rp(oidc, org, orders):
    client = make_web_app(org, trusted=False)
    grant(client.client_id, "orders:read")
    return RelyingParty(oidc, client, scope="openid profile orders:read")


def test_consent_lists_the_api_scopes_with_their_descriptions(web_rp, sign_in, org_admin):
    page = web_rp.authorize(sign_in(org_admin))
    assert page.status_code == 200
    html = page.content.decode()
    assert "See your orders" in html
    assert "orders:read" in html


def test_a_person_gets_a_jwt_for_the_api_with_their_groups_and_sign_in_time(oidc, web_rp, sign_in, org, org_admin,
                                                                          group, orders):
    group.members.add(org_admin)
    browser = sign_in(org_admin)
    Consent.objects.create(user=org_admin, application=Application.objects.get(client_id=web_rp.client.client_id),
                           scopes="openid profile orders:read")
    token = web_rp.fetch_token(sign_in_code(web_rp, browser))
    claims = verify(oidc, token["access_token"])
    assert claims["sub"] == str(org_admin.public_id)
    assert claims["client_id"] == web_rp.client.client_id
    assert claims["scope"] == "openid profile orders:read"
    assert claims["org"] == {"id": str(org.pk), "slug": "acme"}
    assert claims["groups"] == ["engineering"]
    assert claims["roles"] == []
    assert abs(claims["auth_time"] - time.time()) < 120
    assert claims["exp"] - claims["iat"] == 600
    # The same token still reads the person's claims at userinfo (it carries openid).
    userinfo = requests.get(f"{oidc.url}/oauth/userinfo",
                            headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=10)
    assert userinfo.status_code == 200
    assert userinfo.json()["sub"] == claims["sub"]
    # The API sees it active; after a refresh the new token is a JWT for the same API.
    credential = (orders.api.client_id, orders.client_secret)
    assert introspect(oidc, credential, token["access_token"])["active"] is True
    refreshed = web_rp.session.refresh_token(f"{oidc.url}/oauth/token", refresh_token=token["refresh_token"])
    assert verify(oidc, refreshed["access_token"])["aud"] == ORDERS
    # Revoking the family (a replayed refresh token) makes every token of it inactive at the API.
    family = get_refresh_token_model().objects.get(token_checksum__isnull=False, revoked__isnull=True).token_family
    get_refresh_token_model().revoke_family(family)
    assert introspect(oidc, credential, refreshed["access_token"]) == {"active": False}


@pytest.mark.parametrize("trusted", [True, False])
def test_a_resource_with_remembered_consent_or_a_trusted_app_issues_a_code(oidc, sign_in, org, org_admin, orders,
                                                                          trusted):
    """Was a 500: the resource reached DOT's model as a string."""
    client = make_web_app(org, trusted=trusted)
    grant(client.client_id, "orders:read")
    if not trusted:
        Consent.objects.create(user=org_admin, application=Application.objects.get(client_id=client.client_id),
                               scopes="openid orders:read")
    rp = RelyingParty(oidc, client, scope="openid orders:read")
    callback = sign_in_code(rp, sign_in(org_admin), resource=ORDERS)
    token = rp.fetch_token(callback)
    assert verify(oidc, token["access_token"])["scope"] == "openid orders:read"


def redeem_with_resources(oidc, rp: RelyingParty, callback: str, resources) -> requests.Response:
    """The token request for the code in `callback`, with `resource` repeated for each of `resources` (a
    list, a single value, or None for none): Authlib sends only single values."""
    resources = [] if resources is None else [resources] if isinstance(resources, str) else resources
    form = [("grant_type", "authorization_code"), ("code", query_of(callback)["code"]),
            ("redirect_uri", rp.client.redirect_uri), ("code_verifier", rp.code_verifier),
            *(("resource", resource) for resource in resources)]
    return requests.post(f"{oidc.url}/oauth/token", data=form, timeout=10,
                         auth=(rp.client.client_id, rp.client.client_secret))


@pytest.mark.parametrize("asked", [None, ORDERS, [ORDERS, ORDERS]])
def test_a_code_for_an_api_redeems_for_that_api(oidc, sign_in, org, org_admin, orders, asked):
    """The token request may repeat the code's resource, or leave it out (RFC 8707 §2.2)."""
    client = make_web_app(org)
    grant(client.client_id, "orders:read")
    rp = RelyingParty(oidc, client, scope="openid orders:read")
    callback = sign_in_code(rp, sign_in(org_admin), resource=ORDERS)
    token = redeem_with_resources(oidc, rp, callback, asked).json()
    claims = verify(oidc, token["access_token"])
    assert (claims["aud"], claims["scope"]) == (ORDERS, "openid orders:read")
    # Its refresh token stays bound to the same API (the row's resource, which a refresh inherits).
    assert set(get_refresh_token_model().objects.get().resource) == {ORDERS}


@pytest.mark.parametrize("asked", ["https://billing.acme.test", [ORDERS, "https://billing.acme.test"], "not a uri"])
def test_a_code_for_an_api_never_redeems_for_another(oidc, sign_in, org, org_admin, orders, asked):
    """Another API, even one the app may use, or a resource that is no URI, is invalid_target; the code is
    not spent by the refusal."""
    api_create(org=org, name="Billing", identifier="https://billing.acme.test", scopes=[("billing:read", "Bills")])
    client = make_web_app(org)
    grant(client.client_id, "orders:read", "billing:read")
    rp = RelyingParty(oidc, client, scope="openid orders:read")
    callback = sign_in_code(rp, sign_in(org_admin), resource=ORDERS)
    refused = redeem_with_resources(oidc, rp, callback, asked)
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_target")
    assert get_access_token_model().objects.count() == 0
    assert verify(oidc, rp.fetch_token(callback)["access_token"])["aud"] == ORDERS


@pytest.mark.parametrize("resource", ["not-a-uri", "https://orders.acme.test#x", "https://unknown.acme.test"])
def test_a_bad_resource_at_authorize_is_invalid_target_with_iss(oidc, sign_in, org, org_admin, orders, resource):
    client = make_web_app(org)
    grant(client.client_id, "orders:read")
    rp = RelyingParty(oidc, client, scope="openid orders:read")
    response = rp.authorize(sign_in(org_admin), resource=resource)
    assert response.status_code == 302, response.content[:300]
    assert response["Location"].startswith(WEB_REDIRECT)
    params = query_of(response["Location"])
    assert params["error"] == "invalid_target"
    assert params["iss"] == oidc.url


def test_an_app_not_granted_the_scope_gets_invalid_scope_at_authorize(oidc, sign_in, org, org_admin, orders):
    rp = RelyingParty(oidc, make_web_app(org), scope="openid orders:read")
    params = query_of(rp.authorize(sign_in(org_admin))["Location"])
    assert params["error"] == "invalid_scope"
