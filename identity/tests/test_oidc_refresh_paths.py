"""Every outcome of validate_refresh_token after it was folded into one lookup (validator.py).

A live (unrevoked) token is validated on the row loaded with its user, client and org; a revoked or
unknown one still goes through DOT's own validate_refresh_token (grace period, reuse protection).
"""

import base64
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from applications.models import Application
from audit.models import AuditEvent
from directory.models import Group
from identity.tests.oidc_support import make_web_app
from identity.tests.test_oidc_queries import mint_refresh_token, selects_from, statements
from orgs.models import Membership

pytestmark = pytest.mark.django_db


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.fixture
def web(org):
    return make_web_app(org)


@pytest.fixture
def app(web):
    return Application.objects.get(client_id=web.client_id)


def refresh(client, web, token):
    return client.post("/oauth/token", {"grant_type": "refresh_token", "refresh_token": token},
                       HTTP_AUTHORIZATION=basic(web.client_id, web.client_secret))


def test_a_live_token_is_read_once_with_its_user_client_and_org(client, web, app, org_member):
    warm_up = mint_refresh_token(org_member, app)
    assert refresh(client, web, warm_up).status_code == 200
    token = mint_refresh_token(org_member, app)
    with CaptureQueriesContext(connection) as queries:
        response = refresh(client, web, token)
    assert response.status_code == 200, response.content
    sqls = statements(queries)
    reads = [sql for sql in sqls if sql.startswith("SELECT")]
    # One statement reads the client, its org, the token with its access token and user, and the rest.
    assert 'FROM "applications_application"' in reads[0]
    assert 'JOIN "oauth2_provider_refreshtoken"' in reads[0]
    assert 'JOIN "directory_user"' in reads[0]
    assert not selects_from(sqls, "directory_user")
    assert not selects_from(sqls, "oauth2_provider_refreshtoken")
    if connection.vendor == "postgresql":
        assert len(sqls) == 2, sqls  # that read, and the rotation as one statement (no BEGIN/COMMIT)
        assert sqls[1].startswith("WITH")
    else:
        assert len(reads) == 2, reads  # and the groups and roles, read by the claims
    assert response.json()["refresh_token"] != token


def test_unknown_token_is_invalid_grant(client, web):
    response = refresh(client, web, "not-a-token")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_another_clients_token_is_refused(client, web, org, org_member):
    other = Application.objects.get(client_id=make_web_app(org, client_id="other-rp").client_id)
    token = mint_refresh_token(org_member, other)
    assert refresh(client, web, token).json()["error"] == "invalid_grant"
    assert get_refresh_token_model().objects.filter(revoked__isnull=True, application=other).count() == 1


def test_a_token_without_its_access_token_is_refused(client, web, app, org_member):
    token = mint_refresh_token(org_member, app)
    get_access_token_model().objects.filter(user=org_member).delete()
    assert refresh(client, web, token).json()["error"] == "invalid_grant"


def test_a_token_past_its_lifetime_is_refused(client, web, app, org_member, settings):
    token = mint_refresh_token(org_member, app)
    get_access_token_model().objects.filter(user=org_member).update(expires=timezone.now() - timedelta(days=31))
    assert refresh(client, web, token).json()["error"] == "invalid_grant"


def test_the_previous_token_within_the_grace_period_gets_the_same_answer(client, web, app, org_member):
    token = mint_refresh_token(org_member, app)
    first = refresh(client, web, token)
    again = refresh(client, web, token)
    assert first.status_code == again.status_code == 200
    assert again.json()["access_token"] == first.json()["access_token"]
    assert not AuditEvent.objects.filter(action="token.refresh_reused").exists()


def test_reuse_after_the_grace_period_revokes_the_family_and_is_audited(client, web, app, org_member):
    token = mint_refresh_token(org_member, app)
    successor = refresh(client, web, token).json()["refresh_token"]
    get_refresh_token_model().objects.filter(revoked__isnull=False).update(
        revoked=timezone.now() - timedelta(minutes=5))
    assert refresh(client, web, token).json()["error"] == "invalid_grant"
    assert AuditEvent.objects.filter(action="token.refresh_reused").count() == 1
    assert refresh(client, web, successor).json()["error"] == "invalid_grant"


def test_a_token_revoked_outright_is_refused_without_a_reuse_alarm(client, web, app, org_member):
    token = mint_refresh_token(org_member, app)
    get_refresh_token_model().objects.get(token=token).revoke()
    assert refresh(client, web, token).json()["error"] == "invalid_grant"
    assert not AuditEvent.objects.filter(action="token.refresh_reused").exists()


def test_group_limited_app_admits_members_of_its_groups_only(client, web, app, org, org_member):
    allowed = Group.objects.create(org=org, name="Allowed", slug="allowed")
    Group.objects.create(org=org, name="Other", slug="other").memberships.create(user=org_member)
    app.allowed_groups.add(allowed)
    refused = refresh(client, web, mint_refresh_token(org_member, app))
    assert refused.json()["error"] == "invalid_grant"
    event = AuditEvent.objects.get(action="token.refresh_refused")
    assert event.metadata["reason"] == "not_in_allowed_groups"
    allowed.memberships.create(user=org_member)
    assert refresh(client, web, mint_refresh_token(org_member, app)).status_code == 200


def test_suspended_membership_is_refused_with_its_reason(client, web, app, org, org_member):
    Membership.objects.filter(user=org_member, org=org).update(status=Membership.Status.SUSPENDED)
    assert refresh(client, web, mint_refresh_token(org_member, app)).json()["error"] == "invalid_grant"
    assert AuditEvent.objects.get(action="token.refresh_refused").metadata["reason"] == "membership_suspended"
