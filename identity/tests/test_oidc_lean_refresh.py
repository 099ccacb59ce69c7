"""The lean refresh answer (identity.oidc.lean_refresh) is DOT's TokenView's answer.

Each case mints two identical refresh tokens (same user, client, scope, each with its own family and
authorization record), sends one to our token view and one to DOT's stock view (same validator),
and compares status, JSON (token values aside), headers, the ID token's header and claims, and the
rows each rotation left: old refresh token revoked and unlinked, old access token gone, new access
token from the old refresh token and linked to its ID token, new refresh token in the same family.
Requests the lean path must leave to DOT are checked to reach it; the family and reuse semantics
after a lean rotation are checked in test_oidc_refresh_paths.py and below.
"""

import base64
import json
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone
from oauth2_provider import views as dot_views
from oauth2_provider.models import get_access_token_model, get_id_token_model, get_refresh_token_model

from applications.models import Application, AppRole
from audit.models import AuditEvent
from directory.models import Group
from identity import signing
from identity.oidc import endpoints, lean_refresh
from identity.tests.oidc_support import make_spa_app, make_web_app
from identity.tests.test_oidc_queries import mint_refresh_token
from orgs.models import Membership, Organization

pytestmark = pytest.mark.django_db

ours = endpoints.TokenView.as_view()
dots = dot_views.TokenView.as_view()
HEADERS = ("Content-Type", "Cache-Control", "Pragma", "WWW-Authenticate", "Access-Control-Allow-Origin")
VARYING_CLAIMS = ("jti", "iat", "exp", "at_hash")


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def build(data: dict, *, content_type="application/x-www-form-urlencoded", **extra):
    from urllib.parse import urlencode

    body = urlencode(data) if content_type.startswith("application/x-www") else json.dumps(data)
    return RequestFactory().post("/oauth/token", body, content_type=content_type, **extra)


def jwt_parts(value: str) -> tuple[dict, dict]:
    header, payload, _ = value.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    return decode(header), decode(payload)


def state(token: str) -> dict:
    """What a rotation left behind for this refresh token, without ids, values and timestamps."""
    old = get_refresh_token_model().objects.filter(token=token).order_by("-created").first()
    rows = {"old_revoked": old.revoked is not None, "old_access": old.access_token_id,
            "family_size": get_refresh_token_model().objects.filter(token_family=old.token_family).count()}
    new_access = get_access_token_model().objects.filter(source_refresh_token=old).first()
    if new_access is not None:
        new_refresh = get_refresh_token_model().objects.get(access_token=new_access)
        rows.update(
            access={"user": new_access.user_id, "app": new_access.application_id, "scope": new_access.scope,
                    "resource": new_access.resource, "has_id_token": new_access.id_token_id is not None,
                    "lifetime": round((new_access.expires - timezone.now()).total_seconds() / 10)},
            refresh={"user": new_refresh.user_id, "app": new_refresh.application_id,
                     "same_family": new_refresh.token_family == old.token_family, "revoked": new_refresh.revoked,
                     "resource": new_refresh.resource},
        )
        if new_access.id_token_id:
            id_token = new_access.id_token
            rows["id_token"] = {"user": id_token.user_id, "app": id_token.application_id, "scope": id_token.scope,
                                "lifetime": round((id_token.expires - timezone.now()).total_seconds() / 10)}
    return rows


def assert_same(make_token, data: dict, *, lean: bool, **kwargs) -> dict | None:
    """Our answer for one fresh token equals DOT's for another; `lean`: ours came from the lean path."""
    probe = make_token()
    assert (lean_refresh.refresh(build({**data, "refresh_token": probe}, **kwargs)) is not None) is lean
    mine_token, their_token = make_token(), make_token()
    mine = ours(build({**data, "refresh_token": mine_token}, **kwargs))
    theirs = dots(build({**data, "refresh_token": their_token}, **kwargs))
    assert mine.status_code == theirs.status_code, (mine.content, theirs.content)
    assert {h: mine.get(h) for h in HEADERS} == {h: theirs.get(h) for h in HEADERS}
    if theirs.status_code != 200:
        assert mine.content == theirs.content
        return None
    mine_json, their_json = json.loads(mine.content), json.loads(theirs.content)
    assert list(mine_json) == list(their_json)
    values = ("access_token", "refresh_token", "id_token")
    assert {k: v for k, v in mine_json.items() if k not in values} == \
        {k: v for k, v in their_json.items() if k not in values}
    if "id_token" in their_json:
        (my_header, my_claims), (their_header, their_claims) = map(jwt_parts, (mine_json["id_token"],
                                                                               their_json["id_token"]))
        assert my_header == their_header
        assert list(my_claims) == list(their_claims)
        strip = lambda claims: {k: v for k, v in claims.items() if k not in VARYING_CLAIMS}  # noqa: E731
        assert strip(my_claims) == strip(their_claims)
    assert state(mine_token) == state(their_token)
    return mine_json


@pytest.fixture
def web(org):
    return make_web_app(org)


@pytest.fixture
def app(web):
    return Application.objects.get(client_id=web.client_id)


@pytest.fixture
def mint(app, org_member):
    # One sign-in time for every token a test compares: two mints a second apart would differ in auth_time.
    auth_time = timezone.now()
    return lambda: mint_refresh_token(org_member, app, auth_time=auth_time)


def auth(web) -> dict:
    return {"HTTP_AUTHORIZATION": basic(web.client_id, web.client_secret)}


# ---------------------------------------------------------------------- answered by the lean path


def test_basic_auth(web, mint):
    answer = assert_same(mint, {"grant_type": "refresh_token"}, lean=True, **auth(web))
    assert set(answer) == {"access_token", "expires_in", "token_type", "scope", "refresh_token", "id_token"}


def test_secret_in_the_body(web, mint):
    assert_same(mint, {"grant_type": "refresh_token", "client_id": web.client_id, "client_secret": web.client_secret},
                lean=True)


def test_multipart_body(web, mint, client):
    token = mint()
    response = client.post("/oauth/token", {"grant_type": "refresh_token", "refresh_token": token}, **auth(web))
    assert response.status_code == 200
    assert state(token)["old_revoked"] is True


@pytest.mark.parametrize("scope", ["openid", "openid email", "email openid profile", "profile"])
def test_a_narrower_scope(web, mint, scope):
    answer = assert_same(mint, {"grant_type": "refresh_token", "scope": scope}, lean=True, **auth(web))
    assert answer["scope"] == scope
    assert ("id_token" in answer) is ("openid" in scope.split())


def test_groups_roles_and_the_applications_lifetime(web, app, mint, org, org_member):
    group = Group.objects.create(org=org, name="Eng", slug="eng")
    group.memberships.create(user=org_member)
    AppRole.objects.create(application=app, key="app:admin", name="Admin").groups.add(group)
    app.access_token_lifetime = 600
    app.save()
    answer = assert_same(mint, {"grant_type": "refresh_token"}, lean=True, **auth(web))
    claims = jwt_parts(answer["id_token"])[1]
    assert claims["groups"] == ["eng"]
    assert claims["roles"] == ["app:admin"]
    assert claims["sid"] == "sid-1"
    assert claims["amr"] == ["pwd"]
    assert answer["expires_in"] == 600


def test_a_public_client_by_its_client_id(org, org_member):
    spa = make_spa_app(org)
    app = Application.objects.get(client_id=spa.client_id)
    auth_time = timezone.now()
    assert_same(lambda: mint_refresh_token(org_member, app, auth_time=auth_time),
                {"grant_type": "refresh_token", "client_id": spa.client_id}, lean=True)


def test_the_rotated_token_within_the_grace_period_gets_the_same_tokens(client, web, mint):
    token = mint()
    first = ours(build({"grant_type": "refresh_token", "refresh_token": token}, **auth(web)))
    assert lean_refresh.refresh(build({"grant_type": "refresh_token", "refresh_token": token}, **auth(web))) is None
    again = ours(build({"grant_type": "refresh_token", "refresh_token": token}, **auth(web)))
    assert again.status_code == first.status_code == 200
    assert json.loads(again.content)["access_token"] == json.loads(first.content)["access_token"]
    assert json.loads(again.content)["refresh_token"] == json.loads(first.content)["refresh_token"]


def test_reuse_after_the_grace_period_revokes_the_lean_rotations_family(web, mint):
    token = mint()
    successor = json.loads(ours(build({"grant_type": "refresh_token", "refresh_token": token}, **auth(web))).content)
    get_refresh_token_model().objects.filter(revoked__isnull=False).update(
        revoked=timezone.now() - timedelta(minutes=5))
    reused = ours(build({"grant_type": "refresh_token", "refresh_token": token}, **auth(web)))
    assert json.loads(reused.content)["error"] == "invalid_grant"
    assert AuditEvent.objects.filter(action="token.refresh_reused").count() == 1
    after = ours(build({"grant_type": "refresh_token", "refresh_token": successor["refresh_token"]}, **auth(web)))
    assert json.loads(after.content)["error"] == "invalid_grant"
    assert not get_access_token_model().objects.filter(token=successor["access_token"]).exists()


def test_a_chain_of_lean_rotations(web, mint):
    token = mint()
    for _ in range(3):
        response = ours(build({"grant_type": "refresh_token", "refresh_token": token}, **auth(web)))
        assert response.status_code == 200
        token = json.loads(response.content)["refresh_token"]
    assert state(token)["family_size"] == 4
    assert get_id_token_model().objects.count() == 3


# ---------------------------------------------------------------------- handed to DOT


def test_wrong_secret(web, mint):
    assert_same(mint, {"grant_type": "refresh_token"}, lean=False,
                HTTP_AUTHORIZATION=basic(web.client_id, "wrong"))


def test_unknown_token(web):
    assert_same(lambda: "not-a-token", {"grant_type": "refresh_token"}, lean=False, **auth(web))


def test_another_clients_token(web, org, org_member):
    other = Application.objects.get(client_id=make_web_app(org, client_id="other-rp").client_id)
    assert_same(lambda: mint_refresh_token(org_member, other), {"grant_type": "refresh_token"}, lean=False,
                **auth(web))


def test_a_wider_scope(web, app, org_member):
    def narrow():
        token = mint_refresh_token(org_member, app)
        get_access_token_model().objects.filter(refresh_token__token=token).update(scope="openid")
        return token

    assert_same(narrow, {"grant_type": "refresh_token", "scope": "openid email"}, lean=False, **auth(web))


def test_an_expired_token(web, app, org_member):
    def expired():
        token = mint_refresh_token(org_member, app)
        get_access_token_model().objects.filter(refresh_token__token=token).update(
            expires=timezone.now() - timedelta(days=31))
        return token

    assert_same(expired, {"grant_type": "refresh_token"}, lean=False, **auth(web))


def test_past_the_applications_own_refresh_lifetime(web, app, org_member):
    app.refresh_token_lifetime = 3600
    app.save()

    def issued_long_ago():
        token = mint_refresh_token(org_member, app)
        get_refresh_token_model().objects.filter(token=token).update(created=timezone.now() - timedelta(hours=2))
        return token

    assert_same(issued_long_ago, {"grant_type": "refresh_token"}, lean=False, **auth(web))


def test_within_the_applications_own_lifetime_the_deployments_does_not_apply(web, app, org_member):
    app.refresh_token_lifetime = 3600
    app.save()
    auth_time = timezone.now()  # one sign-in time for every token compared (see the `mint` fixture)

    def old_access_token():
        token = mint_refresh_token(org_member, app, auth_time=auth_time)
        get_access_token_model().objects.filter(refresh_token__token=token).update(
            expires=timezone.now() - timedelta(days=31))
        return token

    assert_same(old_access_token, {"grant_type": "refresh_token"}, lean=True, **auth(web))


def test_a_suspended_member(web, mint, org, org_member):
    Membership.objects.filter(user=org_member, org=org).update(status=Membership.Status.SUSPENDED)
    assert_same(mint, {"grant_type": "refresh_token"}, lean=False, **auth(web))
    assert AuditEvent.objects.filter(action="token.refresh_refused").count() == 2  # one per path: DOT audits both


def test_a_suspended_org(web, mint, org):
    Organization.objects.filter(pk=org.pk).update(status=Organization.Status.SUSPENDED)
    assert_same(mint, {"grant_type": "refresh_token"}, lean=False, **auth(web))


@pytest.mark.parametrize("data", [
    {"grant_type": "refresh_token", "scope": ""},
    {"grant_type": "refresh_token", "resource": "https://api.example"},
    {"grant_type": "refresh_token", "client_id": "web-rp"},
])
def test_unusual_parameters(web, mint, data):
    assert_same(mint, data, lean=False, **auth(web))


def test_an_origin_header(web, mint):
    assert_same(mint, {"grant_type": "refresh_token"}, lean=False, HTTP_ORIGIN="https://spa.example", **auth(web))


def test_a_secret_in_its_rotation_overlap(web, app, mint):
    app.previous_client_secret = app.client_secret
    app.previous_secret_expires_at = timezone.now() + timedelta(hours=1)
    app.save()
    assert lean_refresh.refresh(build({"grant_type": "refresh_token", "refresh_token": mint()}, **auth(web))) is None


def test_a_revoked_token_is_dots(web, mint):
    token = mint()
    get_refresh_token_model().objects.get(token=token).revoke()
    assert lean_refresh.refresh(build({"grant_type": "refresh_token", "refresh_token": token}, **auth(web))) is None


def test_a_rotation_that_loses_a_race_writes_nothing_and_goes_to_dot(web, mint, monkeypatch):
    """Another request rotates the same token between this one's read and its write: this one's
    write finds the token revoked, writes nothing, and the request is DOT's."""
    token = mint()
    request = {"grant_type": "refresh_token", "refresh_token": token}
    real_load = lean_refresh._load

    def read_then_lose_the_race(*args):
        loaded = real_load(*args)
        monkeypatch.setattr(lean_refresh, "_load", real_load)
        winner = lean_refresh.refresh(build(request, **auth(web)))  # the concurrent rotation, committed first
        assert winner is not None
        assert winner.status_code == 200
        return loaded

    monkeypatch.setattr(lean_refresh, "_load", read_then_lose_the_race)
    id_tokens = get_id_token_model().objects.count()
    assert lean_refresh.refresh(build(request, **auth(web))) is None
    old = get_refresh_token_model().objects.get(token=token)
    assert old.revoked is not None
    assert get_access_token_model().objects.filter(source_refresh_token=old).count() == 1  # the winner's alone
    assert get_refresh_token_model().objects.filter(token_family=old.token_family).count() == 2
    assert get_id_token_model().objects.count() == id_tokens + 1


def test_the_id_token_is_signed_as_jwcrypto_signs_it():
    """RS256 (PKCS#1 v1.5) is deterministic: the lean serialization is jwcrypto's, byte for byte."""
    from jwcrypto import jwk, jwt

    key = jwk.JWK.generate(kty="RSA", size=2048)
    kid, private_key = signing.rs256_signer(key)
    assert kid == key.thumbprint()
    header = json.dumps({"typ": "JWT", "alg": "RS256", "kid": kid})
    claims = json.dumps({"aud": "web-app", "sub": "ü-subject", "groups": ["a", "b"], "iat": 1})
    theirs = jwt.JWT(header=header, claims=claims)
    theirs.make_signed_token(key)
    ours_token = signing.rs256_compact(header, claims, private_key)
    assert ours_token == theirs.serialize()
    verified = jwt.JWT(jwt=ours_token, key=jwk.JWK(**json.loads(key.export_public())), algs=["RS256"])
    assert json.loads(verified.claims)["sub"] == "ü-subject"
