"""POST /api/v1/orgs/{org}/users/{id}/sessions/end: the console's "End all sessions" for scripts — every browser
of the member is signed out, the count is returned, and the audit row names the key."""

import pytest
from django.test import Client

from api.tests.conftest import ApiClient, new_key
from api.tests.test_authentication import problem
from audit.models import AuditEvent
from directory.tests.factories import MembershipFactory, UserFactory
from identity.models import UserSession
from orgs.models import Membership

pytestmark = pytest.mark.django_db


def end_url(org, user) -> str:
    return f"/api/v1/orgs/{org.slug}/users/{user.pk}/sessions/end"


@pytest.fixture
def alice(org):
    return MembershipFactory(org=org, role="member", user=UserFactory(email="alice@example.test")).user


@pytest.fixture
def alice_browsers(sign_in, alice):
    return [sign_in(alice, Client()), sign_in(alice, Client())]


@pytest.fixture
def admin_api(org, org_admin):
    return ApiClient(new_key(org, org_admin, {"members.view", "members.manage"}, name="offboarding"))


def signed_in(browser) -> bool:
    return browser.get("/account/").status_code == 200


def test_it_signs_every_browser_out_returns_the_count_and_is_audited(org, org_admin, alice, alice_browsers,
                                                                     admin_api):
    sids = set(UserSession.objects.filter(user=alice).values_list("sid", flat=True))
    response = admin_api.post(end_url(org, alice))
    assert response.status_code == 200, response.content
    assert response.json() == {"detail": "Ended 2 sessions of alice@example.test.", "changed": True, "ended": 2}
    assert not any(signed_in(browser) for browser in alice_browsers)
    assert not UserSession.objects.live().filter(user=alice).exists()
    event = AuditEvent.objects.get(action="sessions.ended")
    assert (event.actor, event.org, event.target_id) == (org_admin, org, str(alice.pk))
    assert (event.metadata["count"], set(event.metadata["sids"])) == (2, sids)
    assert event.metadata["api_credential"]["name"] == "offboarding"


def test_with_no_session_open_it_says_so_and_writes_nothing(org, alice, admin_api):
    response = admin_api.post(end_url(org, alice))
    assert response.status_code == 200
    assert response.json() == {"detail": "alice@example.test had no open session; nothing changed.",
                               "changed": False, "ended": 0}
    assert not AuditEvent.objects.filter(action="sessions.ended").exists()


def test_another_orgs_user_and_another_orgs_key_are_404(org, other_org, other_org_admin, alice, alice_browsers,
                                                        admin_api):
    stranger = MembershipFactory(org=other_org, role="member", user=UserFactory()).user
    problem(admin_api.post(end_url(org, stranger)), 404)
    foreign = ApiClient(new_key(other_org, other_org_admin, {"members.view", "members.manage"}))
    problem(foreign.post(end_url(org, alice)), 404)
    problem(foreign.post(end_url(other_org, alice)), 404)
    assert all(signed_in(browser) for browser in alice_browsers)
    assert not AuditEvent.objects.filter(action="sessions.ended").exists()


def test_refusals_a_viewer_an_admin_on_an_owner_and_an_inactive_membership(org, org_auditor, org_owner, alice,
                                                                           alice_browsers, admin_api):
    viewer = ApiClient(new_key(org, org_auditor, {"members.view"}))
    problem(viewer.post(end_url(org, alice)), 403, "missing_scope")
    problem(admin_api.post(end_url(org, org_owner)), 403, "owner_protected")
    Membership.objects.filter(org=org, user=alice).update(status=Membership.Status.SUSPENDED)
    problem(admin_api.post(end_url(org, alice)), 409, "conflict")
    problem(admin_api.get(end_url(org, alice)), 405)
    assert not AuditEvent.objects.filter(action="sessions.ended").exists()


def test_the_schema_describes_it():
    schema = Client().get("/api/v1/schema").json()
    operation = schema["paths"]["/api/v1/orgs/{org_slug}/users/{user_id}/sessions/end"]["post"]
    assert operation["operationId"] == "users_sessions_end"
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/SessionsEnded")
    assert "ended" in schema["components"]["schemas"]["SessionsEnded"]["required"]
