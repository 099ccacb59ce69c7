"""The lean paths answer exactly as stock django-oauth-toolkit does with them switched off.

Each case sends the same request through the whole endpoint twice — once with GATEHOUSE_LEAN_PATHS on,
once off, which is the switch operators (and the version guard) use — on fresh, identical state, and
compares what a client sees: status, JSON (token values aside), the headers, and the claims of any JWT.
The cases are those where the token policy (applications/token_policy.py) decides: a disabled app, a
disabled user, a suspended membership and org, `allowed_scopes`, a secret's rotation overlap, and the
expiry edges of refresh tokens and access tokens. Each group also checks the lean path really answered
the plain case (its query count), so the comparison is not DOT against itself.
"""

import base64
import hashlib
import json
import secrets
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from jwcrypto.jwk import JWK
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from applications.api_services import api_create, application_api_scopes_set
from applications.hashers import ClientSecretHasher
from applications.models import ApiScope, Application, AuthorizationRecord
from identity.signing import signing_key_ensure
from identity.tests.oidc_support import WEB_REDIRECT, make_machine_app, make_web_app
from identity.tests.test_oidc_queries import mint_refresh_token
from orgs.models import Membership, Organization
from orgs.services import membership_reactivate, membership_suspend

pytestmark = pytest.mark.django_db

HEADERS = ("Content-Type", "Cache-Control", "Pragma", "WWW-Authenticate")
TOKEN_VALUES = ("access_token", "refresh_token", "id_token")
VARYING_CLAIMS = ("jti", "iat", "exp", "at_hash", "nbf")


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def jwt_claims(value: str) -> tuple[dict, dict]:
    header, payload, _ = value.split(".")
    decode = lambda part: json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))  # noqa: E731
    strip = lambda claims: {k: v for k, v in claims.items() if k not in VARYING_CLAIMS}  # noqa: E731
    return decode(header), strip(decode(payload))


def seen(response) -> dict:
    """What a client sees of a response, token values replaced by the claims of those that are JWTs."""
    answer = {"status": response.status_code, "headers": {h: response.get(h) for h in HEADERS}}
    body = json.loads(response.content) if response.content else None
    if isinstance(body, dict):
        answer["keys"] = list(body)
        answer["body"] = {k: v for k, v in body.items() if k not in TOKEN_VALUES}
        answer["jwts"] = {k: jwt_claims(body[k]) for k in TOKEN_VALUES if str(body.get(k, "")).count(".") == 2}
    else:
        answer["body"] = response.content
    return answer


def both_ways(settings, send) -> tuple[dict, dict, tuple[int, int]]:
    """`send()` with the lean paths on, then off: (on, off, (queries on, queries off)). `send` makes its own
    fresh state.
    A first request, not compared, loads what every process loads once (the signing key)."""
    settings.GATEHOUSE_LEAN_PATHS = True
    send()
    with CaptureQueriesContext(connection) as queries:
        on = seen(send())
    count = len(queries)  # now: the next request's request_started clears the query log
    settings.GATEHOUSE_LEAN_PATHS = False
    with CaptureQueriesContext(connection) as queries:
        off = seen(send())
    settings.GATEHOUSE_LEAN_PATHS = True
    return on, off, (count, len(queries))


# ---------------------------------------------------------------------------- client credentials

@pytest.fixture
def machine(org):
    made = make_machine_app(org)
    return made, Application.objects.get(client_id=made.client_id)


def cc(client, made, **body):
    return lambda: client.post("/oauth/token", {"grant_type": "client_credentials", **body},
                               HTTP_AUTHORIZATION=basic(made.client_id, made.client_secret))


def test_client_credentials_plain(client, settings, machine):
    on, off, queries = both_ways(settings, cc(client, machine[0]))
    assert on == off
    assert on["status"] == 200
    assert queries[0] == 2 < queries[1]  # the lean path: one SELECT, one INSERT


@pytest.mark.parametrize("change", ["app_disabled", "org_suspended", "wrong_secret", "allowed_scopes",
                                    "overlap_live", "overlap_over"])
def test_client_credentials_policy_cases(client, settings, machine, org, change):
    made, app = machine
    body = {}
    if change == "app_disabled":
        app.status = Application.Status.DISABLED
    elif change == "org_suspended":
        Organization.objects.filter(pk=org.pk).update(status=Organization.Status.SUSPENDED)
    elif change == "wrong_secret":
        made = type(made)(made.client_id, "not-the-secret", "")
    elif change == "allowed_scopes":
        app.allowed_scopes = "openid"
    elif change.startswith("overlap"):
        # The secret presented is the previous one; its overlap ends a minute from now, or ended a second ago.
        app.previous_client_secret = make_password("the-previous-secret", hasher=ClientSecretHasher.algorithm)
        live = change == "overlap_live"
        app.previous_secret_expires_at = timezone.now() + (timedelta(minutes=1) if live else -timedelta(seconds=1))
        made = type(made)(made.client_id, "the-previous-secret", "")
    app.save()
    on, off, _ = both_ways(settings, cc(client, made, **body))
    assert on == off
    expected = 200 if change in ("allowed_scopes", "overlap_live") else 401
    assert on["status"] == expected, on


# ---------------------------------------------------------------------------- a machine's JWT for an API

@pytest.fixture
def jwt_machine(machine, org):
    signing_key_ensure()  # the lean path signs with a key that exists; the first ever token makes it
    made, app = machine
    api_create(org=org, name="Orders", identifier="https://orders.example/",
               scopes=[("orders:read", "Read"), ("orders:write", "Write")])
    application_api_scopes_set(application=app, scopes=ApiScope.objects.filter(name="orders:read"))
    return made, app


def test_machine_jwt_plain(client, settings, jwt_machine):
    on, off, queries = both_ways(settings, cc(client, jwt_machine[0], scope="orders:read"))
    assert on == off
    assert on["status"] == 200
    assert on["jwts"]["access_token"][1]["aud"] == "https://orders.example/"
    assert queries[0] == 1 < queries[1]  # the lean path: one SELECT, no write


@pytest.mark.parametrize("change", ["app_disabled", "org_suspended", "scope_not_granted", "openid"])
def test_machine_jwt_policy_cases(client, settings, jwt_machine, org, change):
    made, app = jwt_machine
    scope = "orders:read"
    if change == "app_disabled":
        Application.objects.filter(pk=app.pk).update(status=Application.Status.DISABLED)
    elif change == "org_suspended":
        Organization.objects.filter(pk=org.pk).update(status=Organization.Status.SUSPENDED)
    elif change == "scope_not_granted":
        scope = "orders:write"
    else:
        scope = "openid orders:read"
    on, off, _ = both_ways(settings, cc(client, made, scope=scope))
    assert on == off
    assert on["status"] in (400, 401), on


# ---------------------------------------------------------------------------- authorization code
# DOT's own grant handles the code exchange either way; the lean switch changes how the validator signs the ID
# token and stores its row (finalize_id_token) and spends the code (invalidate_authorization_code).

CODE_VERIFIER = "a-pkce-code-verifier-of-forty-three-characters-or-more-0123"


def mint_code(user, app, *, auth_time) -> str:
    """A code as /oauth/authorize leaves it: its grant (PKCE S256, a nonce) and its AuthorizationRecord."""
    code = secrets.token_urlsafe(30)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(CODE_VERIFIER.encode()).digest()).decode().rstrip("=")
    get_grant_model().objects.create(user=user, application=app, code=code, redirect_uri=WEB_REDIRECT,
                                     expires=timezone.now() + timedelta(minutes=1), scope="openid profile email",
                                     code_challenge=challenge, code_challenge_method="S256", nonce="nonce-1")
    AuthorizationRecord.objects.create(code_checksum=hashlib.sha256(code.encode()).hexdigest(), application=app,
                                       user=user, sid="sid-1", amr=["pwd"], auth_time=auth_time)
    return code


def exchange(client, made, code):
    return client.post("/oauth/token", {"grant_type": "authorization_code", "code": code, "redirect_uri": WEB_REDIRECT,
                                        "code_verifier": CODE_VERIFIER},
                       HTTP_AUTHORIZATION=basic(made.client_id, made.client_secret))


@pytest.fixture
def code_for(org_member):
    auth_time = timezone.now()  # one sign-in time for every token compared (auth_time is a claim)
    return lambda app: mint_code(org_member, app, auth_time=auth_time)


def test_code_exchange_plain(client, settings, monkeypatch, web, code_for, org_member):
    made, app = web
    thumbprints, thumbprint = [], JWK.thumbprint
    monkeypatch.setattr(JWK, "thumbprint", lambda key, *args: thumbprints.append(key) or thumbprint(key, *args))
    codes, thumbprinted = [], []

    def send():
        codes.append(code_for(app))
        thumbprints.clear()
        response = exchange(client, made, codes[-1])
        thumbprinted.append(len(thumbprints))
        return response

    on, off, _ = both_ways(settings, send)
    assert on == off
    assert on["status"] == 200
    header, claims = on["jwts"]["id_token"]
    assert header["alg"] == "RS256"
    assert header["kid"]
    assert (claims["sub"], claims["sid"], claims["amr"], claims["nonce"]) == (str(org_member.public_id), "sid-1",
                                                                               ["pwd"], "nonce-1")
    # The first exchange works the key's kid out once; the lean one after it reuses it, DOT's works it out again.
    assert thumbprinted[1:] == [0, 1]
    assert not get_grant_model().objects.filter(code__in=codes).exists()  # every code spent


def test_code_exchange_stores_the_id_token_row_it_signed(client, web, code_for, org_member):
    made, app = web
    answer = exchange(client, made, code_for(app)).json()
    _, payload, _ = answer["id_token"].split(".")
    jti = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"]
    row = get_id_token_model().objects.get(jti=jti)
    assert (row.user, row.application, row.scope) == (org_member, app, "openid profile email")
    assert get_access_token_model().objects.get(token=answer["access_token"]).id_token == row


@pytest.mark.parametrize("change", ["replayed", "user_disabled", "membership_suspended", "app_disabled",
                                    "org_suspended", "wrong_verifier"])
def test_code_exchange_policy_cases(client, settings, web, code_for, org, org_member, change):
    made, app = web

    def send():
        code = code_for(app)
        if change == "replayed":
            assert exchange(client, made, code).status_code == 200
        elif change == "wrong_verifier":
            get_grant_model().objects.filter(code=code).update(code_challenge="another-challenge")
        elif change == "membership_suspended":  # as the console does it, which deletes the member's unused codes
            membership = Membership.objects.get(user=org_member, org=org)
            if membership.status == Membership.Status.SUSPENDED:  # by the previous send
                membership_reactivate(membership=membership, actor=None)
            membership_suspend(membership=membership, actor=None)
        return exchange(client, made, code)

    if change == "user_disabled":  # without the service, which would delete the user's unused codes
        type(org_member).objects.filter(pk=org_member.pk).update(status=type(org_member).Status.DISABLED)
    elif change == "app_disabled":
        Application.objects.filter(pk=app.pk).update(status=Application.Status.DISABLED)
    elif change == "org_suspended":
        Organization.objects.filter(pk=org.pk).update(status=Organization.Status.SUSPENDED)
    on, off, _ = both_ways(settings, send)
    assert on == off
    assert on["status"] == (401 if change in ("app_disabled", "org_suspended") else 400), on


# ---------------------------------------------------------------------------- refresh

@pytest.fixture
def web(org):
    made = make_web_app(org)
    return made, Application.objects.get(client_id=made.client_id)


def refresh(client, made, mint, **body):
    return lambda: client.post("/oauth/token", {"grant_type": "refresh_token", "refresh_token": mint(), **body},
                               HTTP_AUTHORIZATION=basic(made.client_id, made.client_secret))


@pytest.fixture
def mint(web, org_member):
    auth_time = timezone.now()  # one sign-in time for both tokens compared (auth_time is a claim)
    return lambda: mint_refresh_token(org_member, web[1], auth_time=auth_time)


def test_refresh_plain(client, settings, web, mint):
    on, off, queries = both_ways(settings, refresh(client, web[0], mint))
    assert on == off
    assert on["status"] == 200
    assert "id_token" in on["jwts"]
    assert queries[0] < queries[1] - 5  # the lean path's read and rotation, not DOT's


@pytest.mark.parametrize("change", ["user_disabled", "membership_suspended", "app_disabled", "org_suspended",
                                    "allowed_scopes_narrower", "allowed_scopes_wider"])
def test_refresh_policy_cases(client, settings, web, mint, org, org_member, change):
    made, app = web
    body = {}
    if change == "user_disabled":
        type(org_member).objects.filter(pk=org_member.pk).update(status=type(org_member).Status.DISABLED)
    elif change == "membership_suspended":
        Membership.objects.filter(user=org_member, org=org).update(status=Membership.Status.SUSPENDED)
    elif change == "app_disabled":
        Application.objects.filter(pk=app.pk).update(status=Application.Status.DISABLED)
    elif change == "org_suspended":
        Organization.objects.filter(pk=org.pk).update(status=Organization.Status.SUSPENDED)
    elif change == "allowed_scopes_narrower":
        Application.objects.filter(pk=app.pk).update(allowed_scopes="openid profile email")
        body = {"scope": "openid email"}
    else:
        Application.objects.filter(pk=app.pk).update(allowed_scopes="openid")
    on, off, _ = both_ways(settings, refresh(client, made, mint, **body))
    assert on == off
    expected = 200 if change.startswith("allowed_scopes") else (401 if change in ("app_disabled", "org_suspended")
                                                                  else 400)
    assert on["status"] == expected, on


@pytest.mark.parametrize(("age", "status"), [(-30, 200), (1, 400)])
def test_refresh_at_the_edge_of_the_applications_own_lifetime(client, settings, web, mint, age, status):
    """Issued `lifetime - 30 s` ago: still good; `lifetime + 1 s` ago: expired, on both paths."""
    made, app = web
    Application.objects.filter(pk=app.pk).update(refresh_token_lifetime=3600)

    def aged():
        value = mint()
        get_refresh_token_model().objects.filter(token=value).update(
            created=timezone.now() - timedelta(seconds=3600 + age))
        return value

    on, off, _ = both_ways(settings, refresh(client, made, aged))
    assert on == off
    assert on["status"] == status, on


# ---------------------------------------------------------------------------- userinfo

def userinfo_with(client, org_member, app, *, expires_in: int):
    def send():
        value = mint_refresh_token(org_member, app)
        access = get_refresh_token_model().objects.get(token=value).access_token
        get_access_token_model().objects.filter(pk=access.pk).update(
            expires=timezone.now() + timedelta(seconds=expires_in))
        return client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {access.token}")
    return send


@pytest.mark.parametrize("change", ["none", "expired", "app_disabled", "org_suspended", "user_disabled"])
def test_userinfo_policy_cases(client, settings, web, org, org_member, change):
    app = web[1]
    if change == "app_disabled":
        Application.objects.filter(pk=app.pk).update(status=Application.Status.DISABLED)
    elif change == "org_suspended":
        Organization.objects.filter(pk=org.pk).update(status=Organization.Status.SUSPENDED)
    elif change == "user_disabled":
        type(org_member).objects.filter(pk=org_member.pk).update(status=type(org_member).Status.DISABLED)
    app.refresh_from_db()
    on, off, queries = both_ways(settings, userinfo_with(client, org_member, app,
                                                         expires_in=-1 if change == "expired" else 600))
    assert on == off, (on, off)
    assert on["status"] == (200 if change == "none" else 401), on
    if change == "none":
        assert on["body"]["email"] == org_member.email


@pytest.mark.parametrize("change", ["none", "user_disabled", "app_disabled"])
def test_introspection_follows_the_same_policy(client, web, org_member, change):
    made, app = web
    value = mint_refresh_token(org_member, app)
    access = get_refresh_token_model().objects.get(token=value).access_token
    if change == "user_disabled":
        type(org_member).objects.filter(pk=org_member.pk).update(status=type(org_member).Status.DISABLED)
    elif change == "app_disabled":
        Application.objects.filter(pk=app.pk).update(status=Application.Status.DISABLED)
    auth = {"HTTP_AUTHORIZATION": basic(made.client_id, made.client_secret)}
    answers = [client.post("/oauth/introspect", {"token": token}, **auth) for token in (access.token, value)]
    if change == "app_disabled":  # the app itself can no longer authenticate to ask
        assert [answer.status_code for answer in answers] == [401, 401]
        return
    assert [answer.json()["active"] for answer in answers] == [change == "none"] * 2
