"""/api/v1/orgs/{org}/api-keys: keys managed through the API, never beyond the calling key's own scopes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from api.tests.conftest import ApiClient, new_key
from api.tests.test_authentication import problem
from applications.models import ApiKey
from applications.services import application_create
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

KEYS = "/api/v1/orgs/acme/api-keys"
USERS = "/api/v1/orgs/acme/users"


@pytest.fixture
def admin_api(org, org_admin):
    return ApiClient(new_key(org, org_admin, {"apikeys.view", "apikeys.manage", "members.view"}))


def test_create_shows_the_key_once_and_it_works(admin_api, org, org_admin):
    app = application_create(org=org, name="Sync", kind="machine").application
    response = admin_api.post(KEYS, {"name": "Job", "scopes": ["members.view"], "allowed_ips": ["127.0.0.1"],
                                     "application": app.client_id,
                                     "expires_at": (timezone.now() + timedelta(days=3)).isoformat()})
    assert response.status_code == 201, response.content
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["key"].startswith(body["prefix"] + "_")
    assert body["application"] == app.client_id
    assert body["status"] == "active"
    assert ApiClient(body["key"]).get(USERS).status_code == 200
    assert "key" not in admin_api.get(f"{KEYS}/{body['id']}").json()
    assert body["key"] not in str(admin_api.get(KEYS).json())
    event = AuditEvent.objects.get(action="api_key.created", target_id=str(body["id"]))
    assert event.actor == org_admin


def test_a_key_cannot_mint_a_key_with_more_than_it_holds(admin_api, org):
    before = ApiKey.objects.count()
    body = problem(admin_api.post(KEYS, {"name": "Escalate", "scopes": ["members.manage"]}), 403, "not_allowed")
    assert "members.manage" in body["detail"]
    problem(admin_api.post(KEYS, {"name": "Escalate", "scopes": ["owners.manage"]}), 403, "not_allowed")
    assert ApiKey.objects.count() == before


@pytest.mark.parametrize(("payload", "field"), [
    ({"scopes": ["members.view"]}, "name"), ({"name": "x", "scopes": []}, "scopes"),
    ({"name": "x", "scopes": ["members.fly"]}, "scopes.0"), ({"name": "x", "scopes": "members.view"}, "scopes"),
    ({"name": "x", "scopes": ["members.view"], "allowed_ips": ["10.0.0.1/8"]}, "allowed_ips"),
    ({"name": "x", "scopes": ["members.view"], "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ({"name": "x", "scopes": ["members.view"], "expires_at": "soon"}, "expires_at"),
    ({"name": "x", "scopes": ["members.view"], "application": "nope"}, "application"),
    ({"name": "x", "scopes": ["members.view"], "secret": "mine"}, "secret"),
])
def test_bad_keys_are_400_and_create_nothing(admin_api, payload, field):
    before = ApiKey.objects.count()
    body = problem(admin_api.post(KEYS, payload), 400)
    assert body["errors"][0]["field"] == field
    assert ApiKey.objects.count() == before


def test_deactivate_reactivate_revoke_and_delete(admin_api, org, org_admin):
    raw = new_key(org, org_admin, {"members.view"})
    key = ApiKey.objects.get(prefix=raw[:20])
    path = f"{KEYS}/{key.pk}"
    assert admin_api.post(f"{path}/deactivate").json()["status"] == "deactivated"
    assert ApiClient(raw).get(USERS).status_code == 401
    assert admin_api.post(f"{path}/reactivate").json()["status"] == "active"
    assert ApiClient(raw).get(USERS).status_code == 200
    assert admin_api.post(f"{path}/revoke").json()["status"] == "revoked"
    problem(admin_api.post(f"{path}/reactivate"), 403, "not_allowed")
    problem(admin_api.post(f"{path}/revoke"), 403, "not_allowed")
    assert admin_api.delete(path).status_code == 204
    problem(admin_api.get(path), 404)
    assert [e.action for e in AuditEvent.objects.filter(target_id=str(key.pk)).order_by("id")] == [
        "api_key.created", "api_key.deactivated", "api_key.reactivated", "api_key.revoked", "api_key.deleted"]


@pytest.mark.parametrize(("role", "reads", "writes"), [
    ("owner", True, True), ("admin", True, True), ("auditor", True, False), ("member", False, False)])
def test_every_endpoint_as_each_roles_key(org, org_admin, key_of, role, reads, writes):
    target = ApiKey.objects.get(prefix=new_key(org, org_admin, {"members.view"})[:20])
    client = ApiClient(key_of(org, role))
    calls = [("get", KEYS, None), ("post", KEYS, {"name": "n", "scopes": ["org.view"]}),
             ("get", f"{KEYS}/{target.pk}", None), ("post", f"{KEYS}/{target.pk}/deactivate", {}),
             ("post", f"{KEYS}/{target.pk}/reactivate", {}), ("post", f"{KEYS}/{target.pk}/revoke", {}),
             ("delete", f"{KEYS}/{target.pk}", None)]
    for method, path, body in calls:
        response = getattr(client, method)(path) if body is None else getattr(client, method)(path, body)
        if reads if method == "get" else writes:
            assert response.status_code < 400, (method, path, response.content)
        else:
            problem(response, 403, "missing_scope")


def test_another_orgs_key_and_key_ids_are_404(org, org_admin, other_org, other_org_admin, admin_api):
    mine = ApiKey.objects.get(prefix=new_key(org, org_admin, {"members.view"})[:20])
    foreign = ApiKey.objects.get(prefix=new_key(other_org, other_org_admin, {"members.view"})[:20])
    other = ApiClient(new_key(other_org, other_org_admin, {"apikeys.view", "apikeys.manage"}))
    for path in (KEYS, f"{KEYS}/{mine.pk}"):
        problem(other.get(path), 404)
    problem(other.post(f"{KEYS}/{mine.pk}/revoke"), 404)
    problem(admin_api.get(f"{KEYS}/{foreign.pk}"), 404)
    for suffix in ("/revoke", "/deactivate"):
        problem(admin_api.post(f"{KEYS}/{foreign.pk}{suffix}"), 404)
    problem(admin_api.delete(f"{KEYS}/{foreign.pk}"), 404)
    foreign.refresh_from_db()
    assert foreign.revoked_at is None
    assert foreign.deactivated_at is None
