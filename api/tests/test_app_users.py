"""/api/v1/app/users: one-way user sync for an application, and the assigned / not-assigned lookup."""

import pytest
from django.test import override_settings

from api.tests.conftest import ApiClient, new_key
from api.tests.test_authentication import problem
from applications.role_services import app_role_create
from applications.services import application_allowed_groups_set, application_create
from directory.services import group_member_add, group_member_remove, user_profile_update
from directory.tests.factories import GroupFactory, MembershipFactory, UserFactory
from orgs.services import member_invite, membership_remove, membership_suspend

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_reconcile_every_time")]

SYNC = "/api/v1/app/users"
LOOKUP = "/api/v1/app/users/lookup"


@pytest.fixture
def _reconcile_every_time():
    with override_settings(GATEHOUSE_API_SYNC_MIN_INTERVAL_SECONDS=0):
        yield


@pytest.fixture
def app(org):
    return application_create(org=org, name="Wiki", kind="web", redirect_uris=["https://wiki.acme.test/cb"]).application


@pytest.fixture
def app_api(org, org_admin, app):
    return ApiClient(new_key(org, org_admin, {"members.view"}, application=app))


def sync_all(client, cursor=None, limit=100):
    """Every page from `cursor`: (items, the cursor to poll with next)."""
    items = []
    while True:
        response = client.get(SYNC, {"limit": limit, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.content
        body = response.json()
        items += body["data"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return items, cursor


def by_email(items):
    return {item["email"]: item for item in items if not item["deleted"]}


def test_a_first_sync_returns_every_assigned_user_but_never_invitations_or_operators(
        app_api, org, org_admin, org_member, operator, app):
    MembershipFactory(org=org, status="suspended", user=UserFactory(email="paused@acme.test"))
    member_invite(org=org, email="invited@acme.test", role="member", actor=org_admin)
    MembershipFactory(org=org, user=operator)  # a row that should not exist; even so, never sent
    items, _cursor = sync_all(app_api)
    users = by_email(items)
    assert set(users) == {"admin@acme.test", "member@acme.test", "paused@acme.test"}
    assert users["paused@acme.test"]["status"] == "suspended"
    member = users["member@acme.test"]
    assert member["sub"] == str(org_member.public_id)
    assert member["name"] == org_member.full_name
    assert member["sync_hash"]
    assert member["updated_at"]
    assert set(member) == {"sub", "deleted", "email", "name", "employee_id", "status", "groups", "roles",
                           "updated_at", "sync_hash"}


def test_a_group_limited_app_gets_its_groups_members_with_groups_and_roles(app_api, org, org_admin, org_member, app):
    staff = GroupFactory(org=org, slug="staff", name="Staff")
    editors = GroupFactory(org=org, slug="editors", name="Editors")
    application_allowed_groups_set(application=app, groups=[staff], actor=org_admin)
    app_role_create(application=app, key="wiki:editor", groups=[editors], actor=org_admin)
    group_member_add(group=staff, user=org_member, actor=org_admin)
    group_member_add(group=editors, user=org_member, actor=org_admin)
    group_member_add(group=editors, user=org_admin, actor=org_admin)
    users = by_email(sync_all(app_api)[0])
    assert set(users) == {"member@acme.test"}
    assert users["member@acme.test"]["groups"] == ["editors", "staff"]
    assert users["member@acme.test"]["roles"] == ["wiki:editor"]


def test_the_hash_changes_only_when_a_mapped_field_changes(app_api, org, org_admin, org_member):
    items, cursor = sync_all(app_api)
    original = by_email(items)["member@acme.test"]
    # Nothing changed: nothing new. A change the app does not see (a password) sends nothing either.
    org_member.set_password("another-long-password-1")
    org_member.save()
    items, cursor = sync_all(app_api, cursor)
    assert items == []
    user_profile_update(org=org, user=org_member, full_name="Mara Member", actor=org_admin)
    items, cursor = sync_all(app_api, cursor)
    assert [item["email"] for item in items] == ["member@acme.test"]
    assert items[0]["name"] == "Mara Member"
    assert items[0]["sync_hash"] != original["sync_hash"]
    # Back to the first value: back to the first hash (the hash is of the fields, not of time).
    user_profile_update(org=org, user=org_member, full_name=original["name"], actor=org_admin)
    items, _ = sync_all(app_api, cursor)
    assert [item["sync_hash"] for item in items] == [original["sync_hash"]]


def test_unassignment_suspension_and_removal_come_as_tombstones_or_status(app_api, org, org_admin, org_member, app):
    staff = GroupFactory(org=org, slug="staff")
    application_allowed_groups_set(application=app, groups=[staff], actor=org_admin)
    other = MembershipFactory(org=org, user=UserFactory(email="other@acme.test")).user
    for user in (org_member, other):
        group_member_add(group=staff, user=user, actor=org_admin)
    items, cursor = sync_all(app_api)
    assert set(by_email(items)) == {"member@acme.test", "other@acme.test"}

    group_member_remove(group=staff, user=org_member, actor=org_admin)
    membership_suspend(membership=other.memberships.get(org=org), actor=org_admin)
    items, cursor = sync_all(app_api, cursor)
    tombstones = [item for item in items if item["deleted"]]
    assert tombstones == [{"sub": str(org_member.public_id), "deleted": True, "updated_at": tombstones[0]["updated_at"],
                           "sync_hash": None}]
    assert by_email(items)["other@acme.test"]["status"] == "suspended"

    membership_remove(membership=other.memberships.get(org=org), actor=org_admin)
    items, cursor = sync_all(app_api, cursor)
    assert [(item["sub"], item["deleted"]) for item in items] == [(str(other.public_id), True)]
    # A first sync now knows nothing of either: no tombstones for what it never had.
    assert sync_all(app_api)[0] == []


def test_the_cursor_resumes_where_it_stopped(app_api, org):
    for index in range(9):
        MembershipFactory(org=org, user=UserFactory(email=f"u{index}@acme.test"))
    first = app_api.get(SYNC, {"limit": 4}).json()
    assert len(first["data"]) == 4
    assert first["has_more"] is True
    # Changes made while a client pages are seen later in the same pass, never lost.
    late = MembershipFactory(org=org, user=UserFactory(email="late@acme.test")).user
    rest, _cursor = sync_all(app_api, first["next_cursor"], limit=4)
    seen = [item["email"] for item in first["data"] + rest if not item["deleted"]]
    assert len(seen) == len(set(seen)) == 10  # 9 + the admin of the key
    assert late.email not in seen  # it appears once the client is at the head again
    again, _ = sync_all(app_api, _cursor)
    assert [item["email"] for item in again] == ["late@acme.test"]


def test_forged_foreign_and_stale_cursors_are_400(app_api, org, org_admin):
    cursor = app_api.get(SYNC).json()["next_cursor"]
    problem(app_api.get(SYNC, {"cursor": cursor[:-4] + "AAAA"}), 400, "invalid")
    problem(app_api.get(SYNC, {"cursor": "garbage"}), 400, "invalid")
    second = application_create(org=org, name="Other", kind="web",
                                redirect_uris=["https://other.acme.test/cb"]).application
    other_app = ApiClient(new_key(org, org_admin, {"members.view"}, application=second))
    problem(other_app.get(SYNC, {"cursor": cursor}), 400, "invalid")
    problem(app_api.get(SYNC, {"limit": 100000}), 400, "invalid")


def test_only_a_key_bound_to_an_app_may_sync_and_it_needs_members_view(org, org_admin, app):
    problem(ApiClient(new_key(org, org_admin, {"members.view"})).get(SYNC), 403, "application_required")
    problem(ApiClient(new_key(org, org_admin, {"groups.view"}, application=app)).get(SYNC), 403, "missing_scope")
    problem(ApiClient().get(SYNC), 401)


def test_another_orgs_app_never_sees_this_orgs_users(other_org, other_org_admin, org_member):
    app = application_create(org=other_org, name="Globex wiki", kind="web",
                             redirect_uris=["https://wiki.globex.test/cb"]).application
    client = ApiClient(new_key(other_org, other_org_admin, {"members.view"}, application=app))
    assert set(by_email(sync_all(client)[0])) == {"admin@globex.test"}
    body = client.post(LOOKUP, {"email": "member@acme.test"}).json()
    assert body == {"email": "member@acme.test", "assigned": False}


def test_lookup_says_assigned_or_not_and_nothing_else(app_api, org, org_admin, org_member, other_org_admin, app):
    assigned = app_api.post(LOOKUP, {"email": "MEMBER@acme.test"})
    assert assigned.status_code == 200
    body = assigned.json()
    assert body["assigned"] is True
    assert body["user"]["sub"] == str(org_member.public_id)
    staff = GroupFactory(org=org, slug="staff")
    application_allowed_groups_set(application=app, groups=[staff], actor=org_admin)
    # Not in the app's groups, an account of another org, and no account at all: the very same answer.
    answers = [app_api.post(LOOKUP, {"email": email}).json() for email in
               ("member@acme.test", other_org_admin.email, "nobody@nowhere.test")]
    assert answers == [{"email": email, "assigned": False} for email in
                       ("member@acme.test", other_org_admin.email, "nobody@nowhere.test")]


@pytest.mark.parametrize("payload", [{}, {"email": "no"}, {"email": 3}, {"email": "a@b.test", "x": 1}, ["a@b.test"]])
def test_bad_lookups_are_400(app_api, payload):
    problem(app_api.post(LOOKUP, payload), 400, "invalid")
