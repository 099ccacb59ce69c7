"""The lean client-credentials answer (identity.oidc.lean_token) is DOT's TokenView's answer.

Each case sends the same request to our token view and to DOT's stock one and compares status, JSON
(the token value aside), headers and the access-token row each stored; requests the lean path must
not answer are also checked to reach DOT (the lean function returns None for them).
"""

import base64
import json
from collections import Counter
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone
from oauth2_provider import views as dot_views
from oauth2_provider.models import get_access_token_model
from oauth2_provider.signals import app_authorized

from applications.models import Application
from identity.oidc import endpoints
from identity.oidc import lean as lean_paths
from identity.oidc.validator import checksum
from identity.tests.oidc_support import make_machine_app, make_web_app
from orgs.models import Organization

pytestmark = pytest.mark.django_db

ours = endpoints.TokenView.as_view()
dots = dot_views.TokenView.as_view()
HEADERS = ("Content-Type", "Cache-Control", "Pragma", "WWW-Authenticate")


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def build(body: str, *, path="/oauth/token", content_type="application/x-www-form-urlencoded", **extra):
    return RequestFactory().post(path, body, content_type=content_type, **extra)


def answer(view, body: str, **kwargs):
    before = set(get_access_token_model().objects.values_list("pk", flat=True))
    response = view(build(body, **kwargs))
    rows = list(get_access_token_model().objects.exclude(pk__in=before).values())
    return response, rows


def row_shape(row: dict, response_json: dict) -> dict:
    """A stored row without what differs between two issues (ids, token value, timestamps)."""
    assert row["token_checksum"] == checksum(response_json["access_token"])
    assert row["token"] == response_json["access_token"]
    now = timezone.now()
    assert abs((row["expires"] - now) - timedelta(seconds=response_json["expires_in"])) < timedelta(seconds=5)
    assert abs(row["created"] - now) < timedelta(seconds=5)
    return {key: value for key, value in row.items()
            if key not in ("id", "token", "token_checksum", "expires", "created", "updated")}


def assert_same(body: str, *, lean: bool, **kwargs) -> dict | None:
    """Our answer equals DOT's; `lean` says whether the lean path (not DOT) must have made ours."""
    assert (lean_paths.token_response(build(body, **kwargs)) is not None) is lean
    mine, my_rows = answer(ours, body, **kwargs)
    theirs, their_rows = answer(dots, body, **kwargs)
    assert mine.status_code == theirs.status_code
    assert {h: mine.get(h) for h in HEADERS} == {h: theirs.get(h) for h in HEADERS}
    if theirs.status_code != 200:
        assert mine.content == theirs.content
        assert my_rows == their_rows == []
        return None
    mine_json, their_json = json.loads(mine.content), json.loads(theirs.content)
    assert list(mine_json) == list(their_json)  # same keys, same order
    assert {**mine_json, "access_token": None} == {**their_json, "access_token": None}
    assert len(mine_json["access_token"]) == len(their_json["access_token"])
    assert len(my_rows) == len(their_rows) == 1
    assert row_shape(my_rows[0], mine_json) == row_shape(their_rows[0], their_json)
    return mine_json


@pytest.fixture
def machine(org):
    return make_machine_app(org)


@pytest.fixture
def app(machine):
    return Application.objects.get(client_id=machine.client_id)


# ---------------------------------------------------------------------- answered by the lean path


def test_basic_auth_without_scope_gets_a_token_without_scope(machine):
    """A machine is never given an OpenID Connect scope (there is no person to describe)."""
    answer_json = assert_same("grant_type=client_credentials", lean=True,
                              HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret))
    assert answer_json["scope"] == ""
    assert answer_json["token_type"] == "Bearer"


def test_secret_in_the_body(machine):
    assert_same(f"grant_type=client_credentials&client_id={machine.client_id}&client_secret={machine.client_secret}",
                lean=True)


@pytest.mark.parametrize("scope", ["openid", "openid profile email", "email openid", " profile "])
def test_openid_connect_scopes_are_refused_to_a_machine(client, machine, scope):
    body = f"grant_type=client_credentials&scope={scope.replace(' ', '+')}"
    auth = basic(machine.client_id, machine.client_secret)
    assert_same(body, lean=False, HTTP_AUTHORIZATION=auth)
    response = client.post("/oauth/token", body, content_type="application/x-www-form-urlencoded",
                           HTTP_AUTHORIZATION=auth)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_the_applications_own_lifetime(machine, app):
    app.access_token_lifetime = 120
    app.save()
    answer_json = assert_same("grant_type=client_credentials", lean=True,
                              HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret))
    assert answer_json["expires_in"] == 120


def test_a_charset_on_the_content_type(machine):
    assert_same("grant_type=client_credentials", lean=True,
                content_type="application/x-www-form-urlencoded; charset=utf-8",
                HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret))


def test_the_token_works_at_introspection_like_a_dot_token(client, machine):
    response = client.post("/oauth/token", "grant_type=client_credentials",
                           content_type="application/x-www-form-urlencoded",
                           HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    token = response.json()["access_token"]
    introspected = client.post("/oauth/introspect", {"token": token},
                               HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret)).json()
    assert introspected["active"] is True
    assert introspected["client_id"] == machine.client_id
    assert introspected["scope"] == ""
    assert introspected["sub"] == machine.client_id  # a machine's token is about the machine (RFC 9068 §2.2)
    assert "username" not in introspected


def test_one_select_and_one_insert(client, machine, django_assert_num_queries):
    with django_assert_num_queries(2):
        response = client.post("/oauth/token", "grant_type=client_credentials",
                               content_type="application/x-www-form-urlencoded",
                               HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret))
    assert response.status_code == 200


# ---------------------------------------------------------------------- handed to DOT


def test_wrong_secret(machine):
    assert_same("grant_type=client_credentials", lean=False, HTTP_AUTHORIZATION=basic(machine.client_id, "nope"))


def test_unknown_client():
    assert_same("grant_type=client_credentials", lean=False, HTTP_AUTHORIZATION=basic("nobody", "secret"))


def test_nul_byte_in_the_client_id_is_left_to_dot():
    # Not compared with DOT's answer: on PostgreSQL (psycopg 3) DOT's lookup raises DataError there.
    request = build("grant_type=client_credentials", HTTP_AUTHORIZATION=basic("no\x00body", "secret"))
    assert lean_paths.token_response(request) is None


@pytest.mark.parametrize("authorization", ["Basic", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode(),
                                           "Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "Bearer abc",
                                           "basic " + base64.b64encode(b"a:b").decode()])
def test_malformed_authorization(machine, authorization):
    assert_same("grant_type=client_credentials", lean=False, HTTP_AUTHORIZATION=authorization)


def test_disabled_application(machine, app):
    app.status = Application.Status.DISABLED
    app.save()
    assert_same("grant_type=client_credentials", lean=False,
                HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret))


def test_suspended_org(machine, org):
    Organization.objects.filter(pk=org.pk).update(status=Organization.Status.SUSPENDED)
    assert_same("grant_type=client_credentials", lean=False,
                HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret))


def test_a_web_app_may_not_use_the_grant(org):
    web = make_web_app(org)
    assert_same("grant_type=client_credentials", lean=False, HTTP_AUTHORIZATION=basic(web.client_id, web.client_secret))


@pytest.mark.parametrize("body", [
    "grant_type=client_credentials&scope=admin",
    "grant_type=client_credentials&scope=",
    "grant_type=client_credentials&scope=openid++profile",
    "grant_type=client_credentials&grant_type=client_credentials",
    "grant_type=client_credentials&scope=openid&scope=email",
    "grant_type=client_credentials&resource=https%3A%2F%2Fapi.example",
    "grant_type=client_credentials&audience=x",
    "grant_type=password&username=a&password=b",
    "scope=openid",
])
def test_unusual_parameters(machine, body):
    assert_same(body, lean=False, HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret))


def test_a_query_string(machine):
    assert_same("grant_type=client_credentials", lean=False, path="/oauth/token?x=1",
                HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret))


def test_a_json_body(machine):
    assert_same('{"grant_type": "client_credentials"}', lean=False, content_type="application/json",
                HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret))


def test_basic_auth_and_a_body_client_id(machine):
    assert_same(f"grant_type=client_credentials&client_id={machine.client_id}", lean=False,
                HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret))


def test_body_client_id_without_secret(machine):
    assert_same(f"grant_type=client_credentials&client_id={machine.client_id}", lean=False)


def test_a_secret_in_its_rotation_overlap(machine, app):
    app.previous_client_secret = app.client_secret
    app.previous_secret_expires_at = timezone.now() + timedelta(hours=1)
    app.save()
    assert (lean_paths.token_response(build("grant_type=client_credentials",
                                            HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret)))
            is None)


def test_an_app_limited_to_some_scopes(machine, app):
    app.allowed_scopes = "openid"
    app.save()
    assert (lean_paths.token_response(build("grant_type=client_credentials",
                                            HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret)))
            is None)


def test_a_connected_app_authorized_receiver_gets_dots_path(machine):
    received = []

    def receiver(sender, request, token, **kwargs):
        received.append(token.token)

    app_authorized.connect(receiver)
    try:
        response = ours(build("grant_type=client_credentials",
                              HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret)))
    finally:
        app_authorized.disconnect(receiver)
    assert received == [json.loads(response.content)["access_token"]]


def test_token_values_are_oauthlibs_shape_and_spread_evenly():
    from oauthlib.common import UNICODE_ASCII_CHARACTER_SET

    from identity.oidc.access_tokens import token_value

    values = [token_value() for _ in range(2000)]
    assert len(set(values)) == len(values)
    assert {len(value) for value in values} == {30}
    counts = Counter("".join(values))
    assert set(counts) == set(UNICODE_ASCII_CHARACTER_SET)
    # 60,000 characters over 62: about 968 each; a biased draw (modulo without rejection) would
    # give the first 8 characters a quarter more.
    assert 800 < min(counts.values()) <= max(counts.values()) < 1150
