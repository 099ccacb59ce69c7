"""/api/v1/orgs/{org}/users: the console's user actions as JSON, with the same rules and audit events."""

import pytest

from api.tests.conftest import ApiClient, new_key
from api.tests.test_authentication import problem
from audit.models import AuditEvent
from directory.tests.factories import GroupFactory, MembershipFactory, UserFactory
from emailqueue.models import OutboundEmail
from orgs.models import Membership

pytestmark = pytest.mark.django_db

USERS = "/api/v1/orgs/acme/users"


def user_url(user, suffix=""):
    return f"{USERS}/{user.pk}{suffix}"


@pytest.fixture
def admin_api(org, org_admin):
    return ApiClient(new_key(org, org_admin, {"members.view", "members.manage"}))


def every_endpoint(user):
    """(method, path, body) for every users endpoint, acting on `user`."""
    return [("get", USERS, None), ("post", USERS, {"email": "x@acme.test"}), ("get", user_url(user), None),
            ("patch", user_url(user), {"employee_id": "E1"}), ("post", user_url(user, "/password-reset"), None),
            ("post", user_url(user, "/unlock"), None), ("post", user_url(user, "/invitation"), None),
            ("delete", user_url(user), None)]


def call(client, method, path, body):
    return getattr(client, method)(path) if body is None and method in ("get", "delete") else \
        getattr(client, method)(path, body or {})


# ------------------------------------------------------------------------------------ who may do what

@pytest.mark.parametrize(("role", "reads", "writes"), [
    ("owner", True, True), ("admin", True, True), ("auditor", True, False), ("member", False, False)])
def test_every_endpoint_as_each_roles_key(org, org_member, key_of, role, reads, writes):
    client = ApiClient(key_of(org, role))
    before = AuditEvent.objects.count()
    for method, path, body in every_endpoint(org_member):
        response = call(client, method, path, body)
        allowed = reads if method == "get" else writes
        if allowed:
            # Allowed by scope; a domain rule may still refuse (resending an accepted invitation), never a 403 of scope.
            assert response.status_code < 400 or response.json()["code"] in ("not_allowed", "conflict"), \
                (method, path, response.content)
        else:
            problem(response, 403, "missing_scope")
    if not writes:
        assert AuditEvent.objects.count() == before
        assert Membership.objects.filter(user=org_member, org=org).exists()


def test_every_endpoint_with_another_orgs_key_is_404_and_changes_nothing(org, org_member, other_api):
    before = AuditEvent.objects.count()
    for method, path, body in every_endpoint(org_member):
        problem(call(other_api, method, path, body), 404, "not_found")
    assert AuditEvent.objects.count() == before


def test_another_orgs_user_id_is_404(api, other_org_admin):
    for method, path, body in every_endpoint(other_org_admin)[2:]:  # those naming a user
        problem(call(api, method, path, body), 404, "not_found")
    assert Membership.objects.filter(user=other_org_admin).exists()


@pytest.mark.parametrize("user_id", ["0", "99999999", "9" * 30])
def test_unknown_user_ids_are_404(api, org, user_id):
    assert api.get(f"{USERS}/{user_id}").status_code == 404


# ---------------------------------------------------------------------------------------------- list

def test_list_filters_like_the_console(api, org, org_owner, group):
    alice = MembershipFactory(org=org, role="admin", user=UserFactory(email="alice@acme.test")).user
    MembershipFactory(org=org, role="member", status="suspended", user=UserFactory(email="bob@acme.test"))
    group.memberships.create(user=alice)

    def emails(**params):
        response = api.get(USERS, params)
        assert response.status_code == 200, response.content
        return [row["email"] for row in response.json()["data"]]

    assert emails() == ["alice@acme.test", "bob@acme.test", "owner@acme.test"]
    assert emails(q="ALICE@") == ["alice@acme.test"]  # (a name prefix could match a random factory name)
    assert emails(status="suspended") == ["bob@acme.test"]
    assert emails(role="owner") == ["owner@acme.test"]
    assert emails(group=group.pk) == ["alice@acme.test"]
    assert emails(sort="created")[0] == "bob@acme.test"
    alice_row = api.get(USERS, {"q": "alice@"}).json()["data"][0]
    assert alice_row["groups"] == [{"id": group.pk, "slug": "engineering", "name": "Engineering"}]
    assert alice_row["sub"] == str(alice.public_id)


@pytest.mark.parametrize(("params", "field"), [
    ({"status": "gone"}, "status"), ({"limit": "0"}, "limit"), ({"limit": "100000"}, "limit"),
    ({"limit": "ten"}, "limit"), ({"sort": "password"}, "sort"), ({"colour": "red"}, "colour"),
    ({"group": "abc"}, "group"),
])
def test_bad_filters_and_oversized_pages_are_400_naming_the_field(api, org, params, field):
    body = problem(api.get(USERS, params), 400, "invalid")
    assert body["errors"][0]["field"] == field


def test_another_orgs_group_as_a_filter_is_400(api, other_org):
    foreign = GroupFactory(org=other_org)
    body = problem(api.get(USERS, {"group": foreign.pk}), 400, "invalid")
    assert body["errors"][0]["field"] == "group"


def test_cursor_pages_walk_every_member_once(api, org, org_owner):
    for index in range(7):
        MembershipFactory(org=org, user=UserFactory(email=f"u{index}@acme.test"))
    seen, cursor = [], None
    while True:
        response = api.get(USERS, {"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200
        seen += [row["email"] for row in response.json()["data"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 8


def test_forged_and_foreign_cursors_are_refused(api, other_api, org, other_org, org_owner):
    for index in range(3):
        MembershipFactory(org=org, user=UserFactory(email=f"u{index}@acme.test"))
    cursor = api.get(USERS, {"limit": 1}).json()["next_cursor"]
    problem(api.get(USERS, {"limit": 1, "cursor": cursor[:-3] + "abc"}), 400, "invalid")
    problem(api.get(USERS, {"limit": 1, "cursor": "eyJwIjoxfQ"}), 400, "invalid")
    # A cursor of one filter set is not a position in another.
    problem(api.get(USERS, {"limit": 1, "cursor": cursor, "role": "member"}), 400, "invalid")
    # Nor one org's cursor a position in another's list.
    MembershipFactory(org=other_org, user=UserFactory(email="g@globex.test"))
    problem(other_api.get("/api/v1/orgs/globex/users", {"limit": 1, "cursor": cursor}), 400, "invalid")


# -------------------------------------------------------------------------------------------- invite

def test_invite_creates_an_invited_member_with_the_consoles_audit_and_mail(admin_api, org, org_admin, group):
    response = admin_api.post(USERS, {"email": "New@Acme.test", "role": "member", "full_name": "Nina",
                                      "groups": [group.pk]})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "New@acme.test"
    assert body["status"] == "invited"
    assert body["full_name"] == ""
    assert body["groups"][0]["slug"] == "engineering"
    assert response["Location"].endswith(f"/users/{body['id']}")
    assert response["ETag"]
    membership = Membership.objects.get(org=org, user__email__iexact="new@acme.test")
    assert membership.status == "invited"
    sent = AuditEvent.objects.get(action="invitation.sent")
    assert sent.actor == org_admin
    assert sent.org == org
    assert sent.ip == "127.0.0.1"
    assert OutboundEmail.objects.filter(recipient__iexact="new@acme.test").exists()


def test_an_invitation_to_an_address_of_another_org_reads_the_same(admin_api, other_org_admin):
    response = admin_api.post(USERS, {"email": other_org_admin.email})
    assert response.status_code == 201
    body = response.json()
    assert body["full_name"] == ""
    assert body["account_status"] is None
    assert body["status"] == "invited"
    detail = admin_api.get(f"{USERS}/{body['id']}").json()
    assert detail["full_name"] == ""
    assert detail["groups"] == []


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "email"), ({"email": "not-an-address"}, "email"), ({"email": 5}, "email"),
    ({"email": "a@acme.test", "role": "emperor"}, "role"), ({"email": "a@acme.test", "role": 1}, "role"),
    ({"email": "a@acme.test", "groups": "1"}, "groups"), ({"email": "a@acme.test", "groups": [999999]}, "groups"),
    ({"email": "a@acme.test", "groups": ["1"]}, "groups.0"), ({"email": "a@acme.test", "nickname": "A"}, "nickname"),
    ([], ""),
])
def test_bad_invitations_are_400_naming_the_field_and_change_nothing(admin_api, org, payload, field):
    before = (Membership.objects.count(), AuditEvent.objects.count())
    body = problem(admin_api.post(USERS, payload), 400, "invalid")
    assert body["errors"][0]["field"] == field
    assert (Membership.objects.count(), AuditEvent.objects.count()) == before


def test_malformed_json_and_wrong_content_types_change_nothing(admin_api):
    before = Membership.objects.count()
    problem(admin_api.post(USERS, '{"email": "a@acme.test"'), 400, "parse_error")
    problem(admin_api.post(USERS, '{"email": NaN}'), 400, "parse_error")
    problem(admin_api.post(USERS, "email=a@acme.test", content_type="application/x-www-form-urlencoded"), 415,
            "unsupported_media_type")
    problem(admin_api.post(USERS, "<email/>", content_type="text/xml"), 415)
    assert Membership.objects.count() == before


def test_a_duplicate_invitation_is_409(admin_api, org, org_member):
    problem(admin_api.post(USERS, {"email": "member@acme.test"}), 409, "already_exists")
    admin_api.post(USERS, {"email": "twice@acme.test"})
    body = problem(admin_api.post(USERS, {"email": "TWICE@acme.test"}), 409, "already_exists")
    assert body["errors"][0]["field"] == "email"


def test_only_an_owners_key_grants_the_owner_role(admin_api, api, org):
    problem(admin_api.post(USERS, {"email": "boss@acme.test", "role": "owner"}), 403, "owner_protected")
    assert not Membership.objects.filter(user__email="boss@acme.test").exists()
    assert api.post(USERS, {"email": "boss@acme.test", "role": "owner"}).status_code == 201


# -------------------------------------------------------------------------------------- read, update

def test_patch_with_the_etag_changes_role_and_employee_id_and_audits(admin_api, org, org_admin, org_member):
    read = admin_api.get(user_url(org_member))
    etag = read["ETag"]
    response = admin_api.patch(user_url(org_member), {"role": "auditor", "employee_id": "E-42"},
                               headers={"If-Match": etag})
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "auditor"
    assert response.json()["employee_id"] == "E-42"
    assert response["ETag"] != etag
    assert AuditEvent.objects.get(action="membership.role_changed").actor == org_admin
    assert AuditEvent.objects.get(action="membership.updated").metadata["after"] == {"employee_id": "E-42"}
    # The ETag read before the change is stale now.
    stale = admin_api.patch(user_url(org_member), {"role": "member"}, headers={"If-Match": etag})
    problem(stale, 412, "stale_etag")
    assert Membership.objects.get(user=org_member).role == "auditor"


def test_patch_status_suspends_and_reactivates(admin_api, org_member):
    assert admin_api.patch(user_url(org_member), {"status": "suspended"}).json()["status"] == "suspended"
    assert AuditEvent.objects.filter(action="membership.suspended").count() == 1
    assert admin_api.patch(user_url(org_member), {"status": "active"}).json()["status"] == "active"
    assert AuditEvent.objects.filter(action="membership.reactivated").count() == 1


def test_a_refused_part_of_a_patch_undoes_the_rest(admin_api, org, org_member):
    MembershipFactory(org=org, employee_id="TAKEN")
    body = problem(admin_api.patch(user_url(org_member), {"role": "auditor", "employee_id": "TAKEN"}), 400)
    assert body["errors"][0]["field"] == "employee_id"
    membership = Membership.objects.get(user=org_member)
    assert membership.role == "member"
    assert membership.employee_id == ""


@pytest.mark.parametrize(("payload", "field"), [
    ({"role": "god"}, "role"), ({"status": "invited"}, "status"), ({"employee_id": 12}, "employee_id"),
    ({"employee_id": "x" * 65}, "employee_id"), ({"email": "new@acme.test"}, "email"),
])
def test_bad_patches_are_400(admin_api, org_member, payload, field):
    body = problem(admin_api.patch(user_url(org_member), payload), 400)
    assert body["errors"][0]["field"] == field
    assert AuditEvent.objects.filter(org__slug="acme", action__startswith="membership.").count() == 0


def test_an_admins_key_cannot_touch_an_owner_nor_demote_the_last_owner(admin_api, api, org_owner):
    problem(admin_api.patch(user_url(org_owner), {"role": "member"}), 403, "owner_protected")
    problem(admin_api.delete(user_url(org_owner)), 403, "owner_protected")
    body = problem(api.patch(user_url(org_owner), {"role": "admin"}), 403, "not_allowed")
    assert "last active owner" in body["detail"]
    assert Membership.objects.get(user=org_owner).role == "owner"


def test_delete_removes_the_membership_with_if_match(admin_api, org_member):
    problem(admin_api.delete(user_url(org_member), headers={"If-Match": '"nope"'}), 412)
    assert Membership.objects.filter(user=org_member).exists()
    assert admin_api.delete(user_url(org_member)).status_code == 204
    assert not Membership.objects.filter(user=org_member).exists()
    assert AuditEvent.objects.filter(action="membership.removed").count() == 1
    problem(admin_api.get(user_url(org_member)), 404)


# ------------------------------------------------------------------------------------ account actions

def test_password_reset_and_unlock_for_an_active_member_of_this_org_alone(admin_api, org_member):
    response = admin_api.post(user_url(org_member, "/password-reset"))
    assert response.status_code == 200
    assert response.json()["changed"] is True
    assert AuditEvent.objects.filter(action="password.reset_requested").count() == 1
    unlocked = admin_api.post(user_url(org_member, "/unlock"))
    assert unlocked.status_code == 200
    assert unlocked.json()["changed"] is False


def test_account_actions_wait_for_an_active_membership(admin_api, org):
    invited = admin_api.post(USERS, {"email": "later@acme.test"}).json()
    problem(admin_api.post(f"{USERS}/{invited['id']}/password-reset"), 409, "conflict")
    assert admin_api.post(f"{USERS}/{invited['id']}/invitation").status_code == 200
    assert AuditEvent.objects.filter(action="invitation.resent").count() == 1


def test_a_reset_for_someone_who_belongs_elsewhere_too_is_refused(admin_api, org, other_org):
    shared = MembershipFactory(org=org, user=UserFactory(email="both@acme.test")).user
    MembershipFactory(org=other_org, user=shared)
    body = problem(admin_api.post(user_url(shared, "/password-reset")), 403, "not_allowed")
    assert "another organization" in body["detail"]


@pytest.mark.parametrize("param", ["cursor", "q", "status", "limit"])
def test_an_empty_query_value_is_400_not_ignored(api, org, param):
    body = problem(api.get(USERS, {param: ""}), 400, "invalid")
    assert body["errors"][0]["field"] == param
