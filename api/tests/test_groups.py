"""/api/v1/orgs/{org}/groups: groups and their members through the console's services and audit events."""

import pytest

from api.tests.conftest import ApiClient, new_key
from api.tests.test_authentication import problem
from applications.services import application_allowed_groups_set, application_create
from audit.models import AuditEvent
from directory.models import Group, GroupMembership
from directory.tests.factories import GroupFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

GROUPS = "/api/v1/orgs/acme/groups"


@pytest.fixture
def admin_api(org, org_admin):
    return ApiClient(new_key(org, org_admin, {"groups.view", "groups.manage"}))


def every_endpoint(group, user):
    return [("get", GROUPS, None), ("post", GROUPS, {"name": "Ops"}), ("get", f"{GROUPS}/{group.pk}", None),
            ("patch", f"{GROUPS}/{group.pk}", {"description": "d"}), ("get", f"{GROUPS}/{group.pk}/members", None),
            ("post", f"{GROUPS}/{group.pk}/members", {"user_ids": [user.pk]}),
            ("delete", f"{GROUPS}/{group.pk}/members/{user.pk}", None), ("delete", f"{GROUPS}/{group.pk}", None)]


def call(client, method, path, body):
    return getattr(client, method)(path) if method in ("get", "delete") else getattr(client, method)(path, body)


@pytest.mark.parametrize(("role", "reads", "writes"), [
    ("owner", True, True), ("admin", True, True), ("auditor", True, False), ("member", False, False)])
def test_every_endpoint_as_each_roles_key(org, group, org_member, key_of, role, reads, writes):
    client = ApiClient(key_of(org, role))
    before = AuditEvent.objects.count()
    for method, path, body in every_endpoint(group, org_member):
        response = call(client, method, path, body)
        if reads if method == "get" else writes:
            assert response.status_code < 400, (method, path, response.content)
        else:
            problem(response, 403, "missing_scope")
    if not writes:
        assert AuditEvent.objects.count() == before
        assert Group.objects.filter(pk=group.pk).exists()


def test_every_endpoint_with_another_orgs_key_is_404(org, group, org_member, other_org, other_org_admin):
    client = ApiClient(new_key(other_org, other_org_admin, {"groups.view", "groups.manage"}))
    for method, path, body in every_endpoint(group, org_member):
        problem(call(client, method, path, body), 404, "not_found")
    assert Group.objects.filter(pk=group.pk).exists()


def test_another_orgs_group_id_is_404_here(admin_api, other_org, org_member):
    foreign = GroupFactory(org=other_org)
    for method, path, body in every_endpoint(foreign, org_member)[2:]:
        problem(call(admin_api, method, path, body), 404, "not_found")
    assert Group.objects.filter(pk=foreign.pk).exists()
    problem(admin_api.get(f"{GROUPS}/{'9' * 30}"), 404)


def test_create_read_rename_and_delete_with_audits(admin_api, org, org_admin):
    created = admin_api.post(GROUPS, {"name": "Data Team", "description": "Numbers"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["slug"] == "data-team"
    assert body["member_count"] == 0
    assert AuditEvent.objects.get(action="group.created").actor == org_admin
    path = f"{GROUPS}/{body['id']}"
    etag = admin_api.get(path)["ETag"]
    renamed = admin_api.patch(path, {"name": "Data"}, headers={"If-Match": etag})
    assert renamed.json()["name"] == "Data"
    assert renamed.json()["slug"] == "data-team"
    problem(admin_api.patch(path, {"name": "Again"}, headers={"If-Match": etag}), 412, "stale_etag")
    assert Group.objects.get(pk=body["id"]).name == "Data"
    assert admin_api.delete(path).status_code == 204
    assert AuditEvent.objects.filter(action="group.deleted").count() == 1


@pytest.mark.parametrize(("payload", "status", "field"), [
    ({}, 400, "name"), ({"name": ""}, 400, "name"), ({"name": 7}, 400, "name"), ({"name": "x", "members": []}, 400,
                                                                                  "members"),
    ({"name": "Engineering"}, 409, "slug"), ({"name": "x" * 151}, 400, "name"),
])
def test_bad_groups_are_refused_and_change_nothing(admin_api, group, payload, status, field):
    before = Group.objects.count()
    body = problem(admin_api.post(GROUPS, payload), status)
    assert body["errors"][0]["field"] == field
    assert Group.objects.count() == before


def test_deleting_the_only_group_an_app_allows_is_refused(admin_api, org, org_admin, group):
    app = application_create(org=org, name="Wiki", kind="web", redirect_uris=["https://w.acme.test/cb"]).application
    application_allowed_groups_set(application=app, groups=[group], actor=org_admin)
    body = problem(admin_api.delete(f"{GROUPS}/{group.pk}"), 403, "not_allowed")
    assert "only group" in body["detail"]
    assert Group.objects.filter(pk=group.pk).exists()


def test_members_add_all_or_none_list_and_remove(admin_api, org, group, org_member, other_org_admin):
    second = MembershipFactory(org=org, user=UserFactory(email="second@acme.test")).user
    members = f"{GROUPS}/{group.pk}/members"
    # Another org's user reads exactly like an unknown id, and nobody is added.
    for stranger in (other_org_admin.pk, 999999):
        body = problem(admin_api.post(members, {"user_ids": [org_member.pk, stranger]}), 400, "invalid")
        assert body["errors"][0]["detail"] == f"No user {stranger} in this organization."
    assert not GroupMembership.objects.filter(group=group).exists()
    added = admin_api.post(members, {"user_ids": [org_member.pk, second.pk, org_member.pk]})
    assert added.json() == {"added": [org_member.pk, second.pk]}
    assert admin_api.post(members, {"user_ids": [second.pk]}).json() == {"added": []}
    assert AuditEvent.objects.filter(action="group.member_added").count() == 2
    first = admin_api.get(members, {"limit": 1}).json()
    rest = admin_api.get(members, {"limit": 1, "cursor": first["next_cursor"]}).json()
    assert [row["id"] for row in first["data"] + rest["data"]] == [org_member.pk, second.pk]
    assert rest["next_cursor"] is None
    assert admin_api.delete(f"{members}/{second.pk}").status_code == 204
    problem(admin_api.delete(f"{members}/{second.pk}"), 404)
    assert AuditEvent.objects.filter(action="group.member_removed").count() == 1


def test_group_pages_and_forged_cursors(admin_api, org):
    for name in ("A", "B", "C"):
        GroupFactory(org=org, name=name, slug=name.lower())
    first = admin_api.get(GROUPS, {"limit": 2}).json()
    rest = admin_api.get(GROUPS, {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [g["name"] for g in first["data"] + rest["data"]] == ["A", "B", "C"]
    problem(admin_api.get(GROUPS, {"cursor": first["next_cursor"] + "x"}), 400)
    problem(admin_api.get(f"{GROUPS}/{first['data'][0]['id']}/members", {"cursor": first["next_cursor"]}), 400)
