"""/api/v1/orgs/{org}/applications: OIDC clients and their roles through the console's services."""

import pytest
from django.contrib.auth.hashers import check_password

from api.tests.conftest import ApiClient, new_key
from api.tests.test_authentication import problem
from applications.models import Application, AppRole
from audit.models import AuditEvent
from directory.tests.factories import GroupFactory

pytestmark = pytest.mark.django_db

APPS = "/api/v1/orgs/acme/applications"


@pytest.fixture
def admin_api(org, org_admin):
    return ApiClient(new_key(org, org_admin, {"applications.view", "applications.manage"}))


@pytest.fixture
def web(admin_api):
    response = admin_api.post(APPS, {"name": "Wiki", "kind": "web", "redirect_uris": ["https://wiki.acme.test/cb"]})
    assert response.status_code == 201, response.content
    return response.json()


def test_create_per_kind_shows_a_confidential_secret_once(admin_api, org_admin, web):
    app = Application.objects.get(pk=web["id"])
    assert web["client_secret"]
    assert check_password(web["client_secret"], app.client_secret)
    assert web["client_secret"] not in str(admin_api.get(f"{APPS}/{app.pk}").json())
    spa = admin_api.post(APPS, {"name": "SPA", "kind": "spa", "redirect_uris": ["https://spa.acme.test/cb"],
                                "allowed_origins": ["https://spa.acme.test"]})
    assert spa.status_code == 201
    assert spa.json()["client_secret"] is None
    assert spa.json()["allowed_origins"] == ["https://spa.acme.test"]
    machine = admin_api.post(APPS, {"name": "Cron", "kind": "machine"})
    assert machine.json()["client_secret"]
    assert "no-store" in machine["Cache-Control"]
    assert AuditEvent.objects.filter(action="application.created").count() == 3
    assert AuditEvent.objects.filter(action="application.created").first().actor == org_admin


@pytest.mark.parametrize(("payload", "field"), [
    ({"name": "x", "kind": "web"}, "redirect_uris"), ({"name": "x", "kind": "robot"}, "kind"),
    ({"name": "x", "kind": "machine", "redirect_uris": ["https://a.test/cb"]}, "redirect_uris"),
    ({"name": "x", "kind": "web", "redirect_uris": ["http://evil.test/cb"]}, "redirect_uris"),
    ({"name": "x", "kind": "web", "redirect_uris": ["https://a.test/cb"], "allowed_origins": ["https://a.test"]},
     "allowed_origins"),
    ({"name": "x", "kind": "machine", "trusted": "yes"}, "trusted"),
    ({"name": "x", "kind": "machine", "allowed_groups": [999999]}, "allowed_groups"),
    ({"name": "x", "kind": "machine", "client_secret": "mine"}, "client_secret"),
])
def test_bad_applications_are_400_and_create_nothing(admin_api, payload, field):
    body = problem(admin_api.post(APPS, payload), 400)
    assert body["errors"][0]["field"] == field
    assert not Application.objects.exists()


def test_patch_changes_only_what_it_names_and_checks_the_etag(admin_api, org, web):
    path = f"{APPS}/{web['id']}"
    etag = admin_api.get(path)["ETag"]
    group = GroupFactory(org=org)
    changed = admin_api.patch(path, {"post_logout_redirect_uris": ["https://wiki.acme.test/bye"],
                                     "allowed_groups": [group.pk]}, headers={"If-Match": etag})
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert body["redirect_uris"] == ["https://wiki.acme.test/cb"]
    assert body["post_logout_redirect_uris"] == ["https://wiki.acme.test/bye"]
    assert body["allowed_groups"] == [{"id": group.pk, "slug": group.slug}]
    assert AuditEvent.objects.filter(action="application.updated").count() == 1
    problem(admin_api.patch(path, {"name": "Old"}, headers={"If-Match": etag}), 412)
    assert Application.objects.get(pk=web["id"]).name == "Wiki"


def test_rotate_disable_enable_delete(admin_api, web):
    path = f"{APPS}/{web['id']}"
    rotated = admin_api.post(f"{path}/secret", {"overlap_seconds": 600})
    assert rotated.status_code == 200
    assert rotated.json()["client_secret"] != web["client_secret"]
    assert check_password(rotated.json()["client_secret"], Application.objects.get(pk=web["id"]).client_secret)
    problem(admin_api.post(f"{path}/secret", {"overlap_seconds": 999999}), 400)
    assert admin_api.post(f"{path}/disable").json()["status"] == "disabled"
    assert admin_api.post(f"{path}/enable").json()["status"] == "active"
    assert admin_api.delete(path).status_code == 204
    assert not Application.objects.filter(pk=web["id"]).exists()
    assert {"application.secret_rotated", "application.disabled", "application.enabled", "application.deleted"} <= set(
        AuditEvent.objects.values_list("action", flat=True))


def test_roles_granted_to_the_orgs_groups_only(admin_api, org, other_org, web):
    roles = f"{APPS}/{web['id']}/roles"
    staff = GroupFactory(org=org)
    foreign = GroupFactory(org=other_org)
    body = problem(admin_api.post(roles, {"key": "wiki:admin", "groups": [foreign.pk]}), 400)
    assert body["errors"][0]["detail"] == f"No group {foreign.pk} in this organization."
    created = admin_api.post(roles, {"key": "wiki:admin", "name": "Admins", "groups": [staff.pk]})
    assert created.status_code == 201
    problem(admin_api.post(roles, {"key": "wiki:admin"}), 409, "already_exists")
    role_path = f"{roles}/{created.json()['id']}"
    assert admin_api.patch(role_path, {"groups": []}).json()["groups"] == []
    assert admin_api.get(roles).json()["data"][0]["key"] == "wiki:admin"
    assert admin_api.delete(role_path).status_code == 204
    assert not AppRole.objects.exists()


def test_another_orgs_key_and_app_ids_are_404(org, other_org, other_org_admin, admin_api, web):
    other = ApiClient(new_key(other_org, other_org_admin, {"applications.view", "applications.manage"}))
    for path in (APPS, f"{APPS}/{web['id']}", f"{APPS}/{web['id']}/roles"):
        problem(other.get(path), 404)
    problem(other.post(f"{APPS}/{web['id']}/disable"), 404)
    foreign = Application.objects.create(org=other_org, name="Globex", kind="machine")
    problem(admin_api.get(f"{APPS}/{foreign.pk}"), 404)
    problem(admin_api.post(f"{APPS}/{foreign.pk}/secret", {}), 404)
    problem(admin_api.delete(f"{APPS}/{foreign.pk}"), 404)
    assert Application.objects.filter(pk=foreign.pk, status="active").exists()


@pytest.mark.parametrize(("role", "reads", "writes"), [
    ("owner", True, True), ("admin", True, True), ("auditor", True, False), ("member", False, False)])
def test_every_endpoint_as_each_roles_key(org, key_of, web, role, reads, writes):
    client = ApiClient(key_of(org, role))
    path = f"{APPS}/{web['id']}"
    calls = [("get", APPS, None), ("post", APPS, {"name": "M", "kind": "machine"}), ("get", path, None),
             ("patch", path, {"description": "d"}), ("get", f"{path}/roles", None),
             ("post", f"{path}/roles", {"key": f"r:{role}"}), ("post", f"{path}/secret", {}),
             ("post", f"{path}/disable", {}), ("post", f"{path}/enable", {}), ("delete", path, None)]
    for method, url, body in calls:
        response = getattr(client, method)(url) if body is None else getattr(client, method)(url, body)
        if reads if method == "get" else writes:
            assert response.status_code < 400, (method, url, response.content)
        else:
            problem(response, 403, "missing_scope")
