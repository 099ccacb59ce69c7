"""/api/v1/orgs/{org}/apis and an application's API scopes, through the console's services."""

import pytest

from api.tests.conftest import ApiClient, new_key
from api.tests.test_authentication import problem
from applications.models import Api
from applications.services import application_create
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

APIS = "/api/v1/orgs/acme/apis"
ORDERS = {"name": "Orders", "identifier": "https://orders.acme.test",
          "scopes": [{"name": "orders:read", "description": "See your orders"}]}


@pytest.fixture
def admin_api(org, org_admin):
    return ApiClient(new_key(org, org_admin, {"applications.view", "applications.manage"}))


def test_register_change_rotate_grant_and_delete(admin_api, org, org_admin):
    created = admin_api.post(APIS, ORDERS)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["client_secret"]
    assert "no-store" in created["Cache-Control"]
    assert body["client_secret"] not in str(admin_api.get(f"{APIS}/{body['id']}").json())
    path = f"{APIS}/{body['id']}"
    etag = admin_api.get(path)["ETag"]
    changed = admin_api.patch(path, {"scopes": [{"name": "orders:read", "description": "Read"},
                                                {"name": "orders:write", "description": "Write"}]},
                              headers={"If-Match": etag})
    assert [s["name"] for s in changed.json()["scopes"]] == ["orders:read", "orders:write"]
    problem(admin_api.patch(path, {"name": "Old"}, headers={"If-Match": etag}), 412)
    rotated = admin_api.post(f"{path}/secret")
    assert rotated.json()["client_secret"] != body["client_secret"]
    app = application_create(org=org, name="Reports", kind="machine").application
    grant = admin_api.put(f"/api/v1/orgs/acme/applications/{app.pk}/api-scopes", {"scopes": ["orders:read"]})
    assert grant.json() == {"scopes": ["orders:read"]}
    problem(admin_api.put(f"/api/v1/orgs/acme/applications/{app.pk}/api-scopes", {"scopes": ["nope:x"]}), 400)
    assert admin_api.delete(path).status_code == 204
    assert {"api.created", "api.updated", "api.secret_rotated", "application.api_scopes_changed", "api.deleted"} <= set(
        AuditEvent.objects.filter(actor=org_admin).values_list("action", flat=True))


@pytest.mark.parametrize(("payload", "field"), [
    ({**ORDERS, "identifier": "not a uri"}, "identifier"), ({**ORDERS, "scopes": []}, "scopes"),
    ({**ORDERS, "scopes": [{"name": "openid", "description": "x"}]}, "scopes"),
    ({**ORDERS, "scopes": [{"name": "a:b"}]}, "scopes.0.description"), ({**ORDERS, "extra": 1}, "extra"),
    ({**ORDERS, "token_format": "xml"}, "token_format"),
])
def test_bad_registrations_are_400(admin_api, payload, field):
    body = problem(admin_api.post(APIS, payload), 400)
    assert body["errors"][0]["field"] == field
    assert not Api.objects.exists()


def test_another_orgs_key_and_api_ids_are_404(admin_api, other_org, other_org_admin):
    created = admin_api.post(APIS, ORDERS).json()
    other = ApiClient(new_key(other_org, other_org_admin, {"applications.view", "applications.manage"}))
    problem(other.get(APIS), 404)
    problem(other.get(f"{APIS}/{created['id']}"), 404)
    foreign = other.post("/api/v1/orgs/globex/apis", {**ORDERS, "identifier": "https://orders.globex.test",
                                                      "scopes": [{"name": "g:r", "description": "R"}]}).json()
    problem(admin_api.get(f"{APIS}/{foreign['id']}"), 404)
    problem(admin_api.post(f"{APIS}/{foreign['id']}/secret"), 404)
    problem(admin_api.delete(f"{APIS}/{foreign['id']}"), 404)
    assert Api.objects.filter(pk=foreign["id"]).exists()


def test_an_auditors_key_reads_but_cannot_register(org, org_auditor, admin_api):
    admin_api.post(APIS, ORDERS)
    auditor = ApiClient(new_key(org, org_auditor, {"applications.view"}))
    assert auditor.get(APIS).status_code == 200
    problem(auditor.post(APIS, {**ORDERS, "identifier": "https://x.acme.test"}), 403, "missing_scope")
