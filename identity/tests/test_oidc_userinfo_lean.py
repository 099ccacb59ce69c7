"""The lean userinfo answer (identity.oidc.endpoints.userinfo) is DOT's UserInfoView's answer.

Each case sends the same request to both and compares status, body and the headers DOT sets; the
cases cover the lean path (valid tokens, with and without profile/email, groups and roles) and the
requests it leaves to DOT (bad, expired, unknown tokens, no openid scope, a disabled client, a
resource-restricted token, a token without a user, POST with a body, a query string, HEAD).
"""

import json
import secrets
from datetime import timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider import views as dot_views
from oauth2_provider.models import get_access_token_model

from applications.models import Application, AppRole
from directory.models import Group
from identity.oidc import claims as claims_module
from identity.oidc import endpoints
from identity.tests.oidc_support import make_machine_app, make_web_app

pytestmark = pytest.mark.django_db

dot_userinfo = dot_views.UserInfoView.as_view()


def mint(user, app, scope="openid profile email", expires_in=3600, **fields):
    return get_access_token_model().objects.create(
        user=user, application=app, scope=scope, expires=timezone.now() + timedelta(seconds=expires_in),
        token=secrets.token_urlsafe(30), **fields).token


def both(method="get", path="/oauth/userinfo", data=None, **extra):
    factory = RequestFactory()
    answers = []
    for view in (endpoints.userinfo, dot_userinfo):
        request = getattr(factory, method)(path, data, **extra) if data is not None else \
            getattr(factory, method)(path, **extra)
        response = view(request)
        answers.append((response.status_code, response.content, response.get("Content-Type"),
                        response.get("WWW-Authenticate")))
    return answers


@pytest.fixture
def web_app(org):
    return Application.objects.get(client_id=make_web_app(org).client_id)


@pytest.fixture
def grouped_member(org, org_member, web_app):
    """A member of two groups (out of slug order by name) with roles granted through both."""
    second = Group.objects.create(org=org, name="A team", slug="zeta-team")
    first = Group.objects.create(org=org, name="Z team", slug="alpha-team")
    Group.objects.create(org=org, name="Not mine", slug="middle")
    for group in (second, first):
        group.memberships.create(user=org_member)
    admin = AppRole.objects.create(application=web_app, key="app:admin")
    viewer = AppRole.objects.create(application=web_app, key="app:viewer")
    AppRole.objects.create(application=web_app, key="app:unrelated")
    admin.groups.add(second)
    viewer.groups.add(first, second)  # granted twice: listed once
    return org_member


@pytest.mark.parametrize("scope", ["openid profile email", "openid", "openid email", "openid profile unknown"])
def test_valid_tokens_get_the_same_claims(grouped_member, web_app, scope):
    token = mint(grouped_member, web_app, scope)
    lean, dot = both(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert lean == dot
    assert lean[0] == 200
    claims = json.loads(lean[1])
    assert claims["groups"] == ["alpha-team", "zeta-team"]
    assert claims["roles"] == ["app:admin", "app:viewer"]


def test_a_user_without_groups_gets_empty_lists(org_member, web_app):
    token = mint(org_member, web_app)
    lean, dot = both(HTTP_AUTHORIZATION=f"bearer {token}")
    assert lean == dot
    assert json.loads(lean[1])["groups"] == []
    assert json.loads(lean[1])["roles"] == []


def test_the_lean_answer_is_used_and_makes_one_query_on_postgresql(grouped_member, web_app, monkeypatch):
    token = mint(grouped_member, web_app)
    monkeypatch.setattr(endpoints, "_dot_userinfo", lambda request: pytest.fail("DOT's view was used"))
    with CaptureQueriesContext(connection) as queries:
        response = endpoints.userinfo(RequestFactory().get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert response.status_code == 200
    assert json.loads(response.content)["roles"] == ["app:admin", "app:viewer"]
    # The token with its client, org, user, groups and roles; elsewhere the groups and roles separately.
    expected = 1 if connection.vendor == "postgresql" else 2
    assert len(queries.captured_queries) == expected, [q["sql"] for q in queries.captured_queries]


def test_bad_requests_are_dots_answers(org_member, web_app, org):
    expired = mint(org_member, web_app, expires_in=-10)
    no_openid = mint(org_member, web_app, scope="profile email")
    restricted = mint(org_member, web_app, resource=["https://api.example"])
    machine = Application.objects.get(client_id=make_machine_app(org).client_id)
    userless = mint(None, machine, scope="openid")
    valid = mint(org_member, web_app)
    cases = [
        {},
        {"HTTP_AUTHORIZATION": "Bearer nope"},
        {"HTTP_AUTHORIZATION": f"Bearer {expired}"},
        {"HTTP_AUTHORIZATION": f"Bearer {no_openid}"},
        # A client-credentials token (even one carrying openid) describes no one: never a 500.
        {"HTTP_AUTHORIZATION": f"Bearer {userless}"},
        {"HTTP_AUTHORIZATION": f"Basic {valid}"},
        {"HTTP_AUTHORIZATION": f"Bearer {valid} extra"},
    ]
    for extra in cases:
        lean, dot = both(**extra)
        assert lean == dot, extra
        assert lean[0] in (401, 403), (extra, lean)
    # A token made for an API (RFC 8707) that carries openid still reads the person's claims here.
    lean, dot = both(HTTP_AUTHORIZATION=f"Bearer {restricted}")
    assert lean == dot
    assert lean[0] == 200
    web_app.status = Application.Status.DISABLED
    web_app.save()
    lean, dot = both(HTTP_AUTHORIZATION=f"Bearer {valid}")
    assert lean == dot
    assert lean[0] == 401


def test_other_shapes_go_to_dot(org_member, web_app, monkeypatch):
    token = mint(org_member, web_app)
    used = []
    monkeypatch.setattr(endpoints, "_dot_userinfo", lambda request: used.append(request) or dot_userinfo(request))
    factory = RequestFactory()
    requests = [
        factory.post("/oauth/userinfo", {"x": "1"}, HTTP_AUTHORIZATION=f"Bearer {token}"),
        factory.get("/oauth/userinfo?x=1", HTTP_AUTHORIZATION=f"Bearer {token}"),
        factory.head("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {token}"),
        factory.put("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {token}"),
    ]
    for request in requests:
        endpoints.userinfo(request)
    assert len(used) == len(requests)
    # A token in the query is refused before either path looks at anything (RFC 9700 §4.3.2).
    refused = endpoints.userinfo(factory.get("/oauth/userinfo?access_token=x", HTTP_AUTHORIZATION=f"Bearer {token}"))
    assert refused.status_code == 400
    assert json.loads(refused.content)["error"] == "invalid_request"
    # An empty POST takes the lean path and answers what DOT answers.
    lean, dot = both("post", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert lean == dot
    assert lean[0] == 200


def test_groups_and_roles_match_the_two_query_version(grouped_member, web_app):
    """The single UNION query returns what the separate group and role queries returned."""
    request = type("R", (), {})()
    request.client, request.user = web_app, grouped_member
    group_rows = list(Group.objects.for_org(web_app.org_id).filter(memberships__user=grouped_member)
                      .order_by("slug").values_list("pk", "slug"))
    roles = list(AppRole.objects.filter(application=web_app, groups__in=[pk for pk, _ in group_rows])
                 .order_by("key").values_list("key", flat=True).distinct())
    assert claims_module.claim_groups(request) == [slug for _, slug in group_rows]
    assert claims_module.claim_roles(request) == roles


def test_groups_and_roles_of_another_org_are_left_out(grouped_member, web_app, other_org):
    """A group of another org (even one with the same slug, even granted a role of this app) is
    neither a group nor a source of roles here."""
    foreign = Group.objects.create(org=other_org, name="Foreign", slug="alpha-team-2")
    same_slug = Group.objects.create(org=other_org, name="Same slug", slug="zeta-team")
    for group in (foreign, same_slug):
        group.memberships.create(user=grouped_member)
    AppRole.objects.create(application=web_app, key="app:foreign").groups.add(foreign, same_slug)
    token = mint(grouped_member, web_app)
    lean, dot = both(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert lean == dot
    claims = json.loads(lean[1])
    assert claims["groups"] == ["alpha-team", "zeta-team"]
    assert claims["roles"] == ["app:admin", "app:viewer"]
