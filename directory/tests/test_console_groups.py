"""The console's group pages: who may use them, tenant isolation, and each change audited and mailed."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from applications.models import Application, AppRole
from audit.models import AuditEvent
from config.exceptions import NotAllowed
from directory.models import Group, GroupMembership
from directory.services import group_delete, group_update
from directory.tests.factories import GroupFactory, GroupMembershipFactory, MembershipFactory, UserFactory
from emailqueue.models import OutboundEmail
from orgs.models import Membership

pytestmark = pytest.mark.django_db


def url(name: str, org_slug: str = "acme", **kwargs) -> str:
    return reverse(f"console:{name}", kwargs={"org_slug": org_slug, **kwargs})


def page(response) -> str:
    return response.content.decode()


def app(org, name: str, *groups) -> Application:
    application = Application.objects.create(org=org, name=name, kind=Application.Kind.MACHINE)
    application.allowed_groups.set(groups)
    return application


def member(org, email: str, role: str = "member", status: str = Membership.Status.ACTIVE):
    return MembershipFactory(org=org, role=role, status=status, user=UserFactory(email=email)).user


# Every group page and action, as (method, route name, needs a group id, needs a member's user id).
ROUTES = [
    ("get", "group-list", False, False),
    ("get", "group-create", False, False),
    ("post", "group-create", False, False),
    ("get", "group-detail", True, False),
    ("get", "group-edit", True, False),
    ("post", "group-edit", True, False),
    ("get", "group-delete", True, False),
    ("post", "group-delete", True, False),
    ("get", "group-members-add", True, False),
    ("post", "group-members-add", True, False),
    ("get", "group-member-remove", True, True),
    ("post", "group-member-remove", True, True),
]
READS = {("get", "group-list"), ("get", "group-detail")}
GROUP_ROUTES = [r for r in ROUTES if r[2]]


def route_url(name, group, user, org_slug="acme", with_group=True, with_user=False):
    kwargs = {}
    if with_group:
        kwargs["pk"] = group.pk
    if with_user:
        kwargs["user_id"] = user.pk
    return url(name, org_slug, **kwargs)


POST_DATA = {
    "group-create": {"name": "Sales"},
    "group-edit": {"name": "Renamed", "description": ""},
    "group-members-add": {"emails": "member@acme.test"},
    "group-member-remove": {"confirmed": "1"},
}


@pytest.fixture
def in_group(org, group, org_member):
    GroupMembershipFactory(group=group, user=org_member)
    return org_member


# ---------------------------------------------------------------- who may use each page


@pytest.mark.parametrize(("method", "name", "with_group", "with_user"), ROUTES)
def test_another_orgs_admin_gets_404_on_every_page_and_action(
        other_org_admin_client, group, in_group, method, name, with_group, with_user):
    target = route_url(name, group, in_group, with_group=with_group, with_user=with_user)
    response = getattr(other_org_admin_client, method)(target, POST_DATA.get(name, {}))
    assert response.status_code == 404
    assert "Engineering" not in page(response)
    assert Group.objects.filter(pk=group.pk, name="Engineering").exists()
    assert group.memberships.count() == 1
    assert not AuditEvent.objects.filter(action__startswith="group.").exists()
    assert not OutboundEmail.objects.exists()


@pytest.mark.parametrize(("method", "name", "with_group", "with_user"), GROUP_ROUTES)
def test_another_orgs_group_is_404_under_my_org(
        org_admin_client, other_org, method, name, with_group, with_user):
    foreign = GroupFactory(org=other_org, name="Globex secret group")
    foreign_member = member(other_org, "someone@globex.test")
    GroupMembershipFactory(group=foreign, user=foreign_member)
    target = route_url(name, foreign, foreign_member, with_group=True, with_user=with_user)
    response = getattr(org_admin_client, method)(target, POST_DATA.get(name, {}))
    assert response.status_code == 404
    assert "Globex secret group" not in page(response)
    assert Group.objects.filter(pk=foreign.pk, name="Globex secret group").exists()
    assert foreign.memberships.count() == 1
    assert not AuditEvent.objects.filter(action__startswith="group.").exists()


@pytest.mark.parametrize(("method", "name", "with_group", "with_user"), ROUTES)
def test_auditor_reads_but_cannot_write(
        client, sign_in, org_auditor, group, in_group, method, name, with_group, with_user):
    target = route_url(name, group, in_group, with_group=with_group, with_user=with_user)
    response = getattr(sign_in(org_auditor), method)(target, POST_DATA.get(name, {}))
    assert response.status_code == (200 if (method, name) in READS else 403)
    assert group.memberships.count() == 1
    assert not AuditEvent.objects.filter(action__startswith="group.").exists()


@pytest.mark.parametrize(("method", "name", "with_group", "with_user"), ROUTES)
def test_plain_member_has_no_access(client, sign_in, group, in_group, method, name, with_group, with_user):
    target = route_url(name, group, in_group, with_group=with_group, with_user=with_user)
    response = getattr(sign_in(in_group), method)(target, POST_DATA.get(name, {}))
    assert response.status_code == 403
    assert group.memberships.count() == 1


@pytest.mark.parametrize("name", ["group-list", "group-create"])
def test_anonymous_is_sent_to_sign_in(client, org, name):
    response = client.get(url(name))
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owner_and_admin_see_the_manage_controls(client, sign_in, org, group, in_group, role):
    html = page(sign_in(member(org, f"{role}2@acme.test", role=role)).get(url("group-detail", pk=group.pk)))
    assert url("group-edit", pk=group.pk) in html
    assert url("group-delete", pk=group.pk) in html
    assert "Remove member@acme.test" in html
    assert url("group-members-add", pk=group.pk) in html


def test_auditor_sees_no_manage_controls(client, sign_in, org_auditor, group, in_group):
    html = page(sign_in(org_auditor).get(url("group-detail", pk=group.pk)))
    assert "member@acme.test" in html
    assert url("group-edit", pk=group.pk) not in html
    assert url("group-delete", pk=group.pk) not in html
    assert "Remove member@acme.test" not in html
    assert url("group-create") not in page(sign_in(org_auditor).get(url("group-list")))


def test_operator_can_manage_any_orgs_groups(operator_client, group):
    assert operator_client.get(url("group-detail", pk=group.pk)).status_code == 200


@pytest.mark.parametrize("path", ["/console/acme/groups/abc/", "/console/acme/groups/-1/",
                                  "/console/acme/groups/999999/", "/console/acme/groups/999999/edit",
                                  "/console/acme/groups/99999999999999999999999/",
                                  "/console/acme/groups/1.5/delete"])
def test_junk_and_unknown_group_ids_are_404(org_admin_client, group, path):
    assert org_admin_client.get(path).status_code == 404


def test_unknown_org_is_404(org_admin_client, org):
    assert org_admin_client.get(url("group-list", "no-such-org")).status_code == 404


def test_sidebar_links_to_groups_for_console_roles_only(org_admin_client, org):
    html = page(org_admin_client.get(url("org-overview")))
    assert f'href="{url("group-list")}"' in html
    listing = page(org_admin_client.get(url("group-list")))
    assert f'href="{url("group-list")}" aria-current="page"' in listing


# ---------------------------------------------------------------- list


def test_list_shows_name_slug_and_member_count_in_a_bounded_number_of_queries(
        org_admin_client, org, other_org):
    for i in range(15):
        g = GroupFactory(org=org, name=f"Team {i:02}", slug=f"team-{i:02}")
        for _ in range(i % 4):
            GroupMembershipFactory(group=g, user=MembershipFactory(org=org).user)
    GroupFactory(org=other_org, name="Globex secret group")
    org_admin_client.get(url("group-list"))  # warm up session and caches
    with CaptureQueriesContext(connection) as few:
        response = org_admin_client.get(url("group-list"))
    html = page(response)
    assert response.status_code == 200
    assert "Team 00" in html
    assert "team-14" in html
    assert "Globex secret group" not in html
    group_queries = [q["sql"] for q in few.captured_queries if "directory_group" in q["sql"]]
    assert len(group_queries) == 1, group_queries

    for i in range(15, 40):
        GroupFactory(org=org, name=f"Team {i:02}", slug=f"team-{i:02}")
    with CaptureQueriesContext(connection) as many:
        org_admin_client.get(url("group-list"))
    assert len(many.captured_queries) == len(few.captured_queries)


def test_list_counts_members(org_admin_client, org, group, in_group):
    GroupMembershipFactory(group=group, user=member(org, "second@acme.test"))
    GroupFactory(org=org, name="Empty", slug="empty")
    response = org_admin_client.get(url("group-list"))
    rows = {g.name: g.member_count for g in response.context["groups"]}
    assert rows == {"Empty": 0, "Engineering": 2}


# ---------------------------------------------------------------- create


def test_create_group_with_derived_slug_is_audited(org_admin_client, org, org_admin):
    response = org_admin_client.post(url("group-create"), {"name": "Sales Team", "slug": "",
                                                           "description": "Everyone who sells"})
    group = Group.objects.get(org=org, slug="sales-team")
    assert response.status_code == 302
    assert response["Location"] == url("group-detail", pk=group.pk)
    assert group.description == "Everyone who sells"
    event = AuditEvent.objects.get(action="group.created")
    assert event.org == org
    assert event.actor == org_admin
    assert event.target_id == str(group.pk)


def test_create_with_a_slug_taken_in_this_org_is_a_field_error(org_admin_client, org, group):
    response = org_admin_client.post(url("group-create"), {"name": "Engineers", "slug": "engineering"})
    assert response.status_code == 200
    assert "already exists in Acme Corp" in str(response.context["form"].errors["slug"])
    assert Group.objects.for_org(org).count() == 1
    assert not AuditEvent.objects.filter(action="group.created").exists()


def test_create_with_a_name_whose_slug_is_taken_is_a_slug_error(org_admin_client, org, group):
    response = org_admin_client.post(url("group-create"), {"name": "Engineering"})
    assert response.status_code == 200
    assert "slug" in response.context["form"].errors


def test_the_same_slug_is_fine_in_another_org(org_admin_client, org, other_org):
    GroupFactory(org=other_org, slug="engineering")
    response = org_admin_client.post(url("group-create"), {"name": "Engineering"})
    assert response.status_code == 302
    assert Group.objects.for_org(org).filter(slug="engineering").exists()


@pytest.mark.parametrize(("data", "field"), [
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": "x" * 151}, "name"),
    ({"name": "!!!"}, "name"),
    ({"name": "Ok", "slug": "Not A Slug"}, "slug"),
    ({"name": "Ok", "slug": "---"}, "slug"),
    ({"name": "Ok", "slug": "s" * 81}, "slug"),
    ({"name": "Ok", "description": "d" * 501}, "description"),
])
def test_create_with_bad_input_rerenders_with_field_errors(org_admin_client, org, data, field):
    response = org_admin_client.post(url("group-create"), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert 'class="field-error"' in page(response)
    assert not Group.objects.exists()


def test_a_long_name_gets_a_slug_that_fits(org_admin_client, org):
    response = org_admin_client.post(url("group-create"), {"name": "word " * 30})
    assert response.status_code == 302
    assert len(Group.objects.get(org=org).slug) <= 80


def test_create_form_is_labelled(org_admin_client, org):
    html = page(org_admin_client.get(url("group-create")))
    for field in ("name", "slug", "description"):
        assert f'<label for="id_{field}">' in html
    assert "Create group</button>" in html
    assert "<script>" not in html
    assert "style=" not in html


# ---------------------------------------------------------------- detail


def test_detail_shows_members_apps_limited_to_it_and_roles_it_grants(org_admin_client, org, other_org, group,
                                                                      in_group):
    crm = app(org, "CRM", group)
    app(org, "Wiki", group, GroupFactory(org=org, slug="others"))
    app(org, "Open app")
    AppRole.objects.create(application=crm, key="crm:admin", name="CRM administrator").groups.add(group)
    html = page(org_admin_client.get(url("group-detail", pk=group.pk)))
    assert "member@acme.test" in html
    assert "CRM" in html
    assert "Only this group" in html
    assert "Wiki" in html
    assert "This group and 1 other" in html
    assert "Open app" not in html
    assert "crm:admin" in html
    assert "CRM administrator" in html
    assert '<th scope="col">' in html


def test_detail_queries_do_not_grow_with_members(org_admin_client, org, group):
    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert org_admin_client.get(url("group-detail", pk=group.pk)).status_code == 200
        return len(ctx.captured_queries)

    GroupMembershipFactory(group=group, user=member(org, "one@acme.test"))
    few = count()
    for i in range(10):
        GroupMembershipFactory(group=group, user=member(org, f"more{i}@acme.test"))
    assert count() == few


def test_detail_of_an_empty_group_says_so(org_admin_client, group):
    html = page(org_admin_client.get(url("group-detail", pk=group.pk)))
    assert "No one is in this group yet." in html
    assert "No application is limited to this group." in html
    assert "This group grants no app roles." in html


def test_detail_pages_members_and_tolerates_junk_page_numbers(org_admin_client, org, group):
    for i in range(105):
        GroupMembershipFactory(group=group, user=MembershipFactory(org=org, user=UserFactory(
            email=f"p{i:03}@acme.test")).user)
    first = page(org_admin_client.get(url("group-detail", pk=group.pk)))
    assert "p000@acme.test" in first
    assert "p104@acme.test" not in first
    assert "105 members" in first
    second = page(org_admin_client.get(url("group-detail", pk=group.pk) + "?page=2"))
    assert "p104@acme.test" in second
    for junk in ("abc", "-1", "99999"):
        assert org_admin_client.get(url("group-detail", pk=group.pk) + f"?page={junk}").status_code == 200


# ---------------------------------------------------------------- rename and describe


def test_edit_renames_and_describes_with_before_and_after(org_admin_client, org, org_admin, group):
    response = org_admin_client.post(url("group-edit", pk=group.pk),
                                     {"name": "Platform Engineering", "description": "Builds the platform"})
    assert response["Location"] == url("group-detail", pk=group.pk)
    group.refresh_from_db()
    assert (group.name, group.description, group.slug) == ("Platform Engineering", "Builds the platform",
                                                           "engineering")
    event = AuditEvent.objects.get(action="group.updated")
    assert event.org == org
    assert event.actor == org_admin
    assert event.target_id == str(group.pk)
    assert event.metadata["before"] == {"name": "Engineering", "description": ""}
    assert event.metadata["after"] == {"name": "Platform Engineering", "description": "Builds the platform"}


def test_edit_prefills_and_saving_unchanged_writes_no_audit(org_admin_client, group):
    html = page(org_admin_client.get(url("group-edit", pk=group.pk)))
    assert 'value="Engineering"' in html
    org_admin_client.post(url("group-edit", pk=group.pk), {"name": "Engineering", "description": ""})
    assert not AuditEvent.objects.filter(action="group.updated").exists()


@pytest.mark.parametrize(("data", "field"), [({"name": ""}, "name"), ({"name": " "}, "name"),
                                             ({"name": "n" * 151}, "name"),
                                             ({"name": "Ok", "description": "d" * 501}, "description")])
def test_edit_with_bad_input_rerenders(org_admin_client, group, data, field):
    response = org_admin_client.post(url("group-edit", pk=group.pk), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    group.refresh_from_db()
    assert group.name == "Engineering"


def test_group_update_service_refuses_an_empty_name(group, org_admin):
    from config.exceptions import DomainError

    with pytest.raises(DomainError):
        group_update(group=group, name=" ", description="", actor=org_admin)


# ---------------------------------------------------------------- add members


def test_add_several_members_at_once_audits_and_mails_each(org_admin_client, org, org_admin, group):
    member(org, "alice@acme.test")
    member(org, "bob@acme.test", status=Membership.Status.INVITED)
    member(org, "carol@acme.test")
    response = org_admin_client.post(url("group-members-add", pk=group.pk),
                                     {"emails": "alice@acme.test, BOB@acme.test\n\ncarol@ACME.test;alice@acme.test"})
    assert response.status_code == 302
    assert response["Location"] == url("group-detail", pk=group.pk)
    assert sorted(group.members.values_list("email", flat=True)) == [
        "alice@acme.test", "bob@acme.test", "carol@acme.test"]
    events = AuditEvent.objects.filter(action="group.member_added", org=org, actor=org_admin)
    assert sorted(e.metadata["user"] for e in events) == ["alice@acme.test", "bob@acme.test", "carol@acme.test"]
    mails = OutboundEmail.objects.filter(kind="group_added", org=org)
    assert sorted(mails.values_list("recipient", flat=True)) == [
        "alice@acme.test", "bob@acme.test", "carol@acme.test"]
    assert all("Engineering" in m.subject for m in mails)


def test_adding_someone_already_in_the_group_is_not_an_error_and_sends_nothing(org_admin_client, group, in_group):
    response = org_admin_client.post(url("group-members-add", pk=group.pk), {"emails": "member@acme.test"},
                                     follow=True)
    assert "1 person was already in the group." in page(response)
    assert not OutboundEmail.objects.exists()
    assert not AuditEvent.objects.filter(action="group.member_added").exists()


def test_one_bad_address_adds_no_one_and_each_problem_is_named(org_admin_client, org, other_org, group):
    member(org, "alice@acme.test")
    member(other_org, "outsider@globex.test")
    UserFactory(email="noorg@example.test")
    response = org_admin_client.post(url("group-members-add", pk=group.pk), {
        "emails": "alice@acme.test\nnot-an-email\noutsider@globex.test\nnobody@acme.test\nnoorg@example.test"})
    assert response.status_code == 200
    errors = response.context["form"].errors["emails"]
    assert errors[0].startswith("Nothing was added.")
    # In the order typed; an account elsewhere reads exactly like no account at all.
    assert list(errors)[1:] == [
        "“not-an-email” is not a valid email address.",
        "“outsider@globex.test” is not a member of Acme Corp.",
        "“nobody@acme.test” is not a member of Acme Corp.",
        "“noorg@example.test” is not a member of Acme Corp.",
    ]
    assert not any("alice" in e for e in errors)
    html = page(response)
    assert "outsider@globex.test" in html  # the textarea keeps what was typed
    assert not group.memberships.exists()
    assert not OutboundEmail.objects.exists()
    assert not AuditEvent.objects.filter(action="group.member_added").exists()


@pytest.mark.parametrize("emails", ["", "  \n , ;", ",".join(f"u{i}@acme.test" for i in range(201))])
def test_add_with_nothing_or_too_much_rerenders(org_admin_client, group, emails):
    response = org_admin_client.post(url("group-members-add", pk=group.pk), {"emails": emails})
    assert response.status_code == 200
    assert "emails" in response.context["form"].errors
    assert not group.memberships.exists()


def test_add_form_page_is_labelled(org_admin_client, group):
    html = page(org_admin_client.get(url("group-members-add", pk=group.pk)))
    assert '<label for="id_emails">' in html
    assert "Add to Engineering</button>" in html


def test_a_membership_ending_mid_add_rolls_back_everyone(org, org_admin, group, monkeypatch):
    """The service is all or none even if validation passed: the second user is refused, the first is undone."""
    from config.exceptions import DomainError
    from directory.services import group_members_add

    alice, bob = member(org, "alice@acme.test"), member(org, "bob@acme.test")
    Membership.objects.filter(user=bob).delete()
    with pytest.raises(DomainError):
        group_members_add(group=group, users=[alice, bob], actor=org_admin)
    assert not group.memberships.exists()
    assert not OutboundEmail.objects.exists()
    assert not AuditEvent.objects.filter(action="group.member_added").exists()


# ---------------------------------------------------------------- remove a member


def test_remove_a_member_audits_and_mails(org_admin_client, org, org_admin, group, in_group):
    response = org_admin_client.post(url("group-member-remove", pk=group.pk, user_id=in_group.pk), {"confirmed": "1"})
    assert response["Location"] == url("group-detail", pk=group.pk)
    assert not group.memberships.exists()
    event = AuditEvent.objects.get(action="group.member_removed")
    assert event.actor == org_admin
    assert event.org == org
    assert event.metadata["user"] == "member@acme.test"
    mail = OutboundEmail.objects.get(kind="group_removed")
    assert mail.recipient == "member@acme.test"
    assert "Engineering" in mail.subject


def test_remove_someone_not_in_the_group_is_404(org_admin_client, org, group, org_auditor):
    for user_id in (org_auditor.pk, 999999):
        for data in ({}, {"confirmed": "1"}):
            response = org_admin_client.post(url("group-member-remove", pk=group.pk, user_id=user_id), data)
            assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="group.member_removed").exists()


def test_remove_by_get_only_asks(org_admin_client, group, in_group):
    response = org_admin_client.get(url("group-member-remove", pk=group.pk, user_id=in_group.pk))
    assert response.status_code == 200
    assert "Remove member@acme.test from the group Engineering?" in page(response)
    assert group.memberships.count() == 1


def test_remove_needs_csrf(org, group, in_group, org_admin, sign_in):
    from django.test import Client

    strict = sign_in(org_admin, Client(enforce_csrf_checks=True))
    response = strict.post(url("group-member-remove", pk=group.pk, user_id=in_group.pk), {"confirmed": "1"})
    assert response.status_code == 403
    assert group.memberships.count() == 1


# ---------------------------------------------------------------- delete


def test_delete_confirmation_names_the_impact(org_admin_client, org, group, in_group):
    GroupMembershipFactory(group=group, user=member(org, "second@acme.test"))
    app(org, "Wiki", group, GroupFactory(org=org, slug="others"))
    crm = app(org, "CRM")
    AppRole.objects.create(application=crm, key="crm:admin").groups.add(group)
    html = page(org_admin_client.get(url("group-delete", pk=group.pk)))
    assert "Delete the group Engineering?" in html
    assert "2 members leave the group and are told by email." in html
    assert "Wiki is limited to this group and others" in html
    assert "crm:admin" in html
    assert "CRM" in html
    assert "Delete Engineering</button>" in html
    assert Group.objects.filter(pk=group.pk).exists()


def test_delete_removes_the_group_audits_the_impact_and_tells_members(org_admin_client, org, org_admin, group,
                                                                       in_group):
    wiki = app(org, "Wiki", group, GroupFactory(org=org, slug="others"))
    crm = app(org, "CRM")
    AppRole.objects.create(application=crm, key="crm:admin").groups.add(group)
    pk = group.pk
    response = org_admin_client.post(url("group-delete", pk=pk))
    assert response["Location"] == url("group-list")
    assert not Group.objects.filter(pk=pk).exists()
    assert not GroupMembership.objects.filter(group_id=pk).exists()
    assert list(wiki.allowed_groups.values_list("slug", flat=True)) == ["others"]
    event = AuditEvent.objects.get(action="group.deleted")
    assert event.org == org
    assert event.actor == org_admin
    assert event.target_id == str(pk)
    assert event.target_label == "Engineering"
    assert event.metadata["members"] == 1
    assert event.metadata["member_emails"] == ["member@acme.test"]
    assert event.metadata["applications_limited"] == [{"id": wiki.pk, "name": "Wiki"}]
    assert event.metadata["app_roles"] == [{"application": "CRM", "key": "crm:admin"}]
    mail = OutboundEmail.objects.get(kind="group_removed")
    assert mail.recipient == "member@acme.test"
    assert "Engineering" in mail.subject
    assert org_admin_client.get(url("group-detail", pk=pk)).status_code == 404


def test_a_group_that_is_an_apps_only_allowed_group_cannot_be_deleted(org_admin_client, org, group, in_group):
    crm = app(org, "CRM", group)
    html = page(org_admin_client.get(url("group-delete", pk=group.pk)))
    assert "This group cannot be deleted yet." in html
    assert "CRM" in html
    assert "Delete Engineering</button>" not in html
    response = org_admin_client.post(url("group-delete", pk=group.pk), follow=True)
    assert "would open that application to every member of Acme Corp" in page(response)
    assert Group.objects.filter(pk=group.pk).exists()
    assert list(crm.allowed_groups.all()) == [group]
    assert not AuditEvent.objects.filter(action="group.deleted").exists()
    assert not OutboundEmail.objects.exists()


def test_group_delete_service_refuses_for_a_sole_allowed_group(org, group, org_admin):
    app(org, "CRM", group)
    with pytest.raises(NotAllowed):
        group_delete(group=group, actor=org_admin)
    assert Group.objects.filter(pk=group.pk).exists()


def test_deleting_an_empty_unused_group(org_admin_client, org, group):
    html = page(org_admin_client.get(url("group-delete", pk=group.pk)))
    assert "0 members leave the group" in html
    assert "No application is limited to this group and it grants no app roles." in html
    org_admin_client.post(url("group-delete", pk=group.pk))
    assert not Group.objects.exists()
    assert AuditEvent.objects.get(action="group.deleted").metadata["members"] == 0
    assert not OutboundEmail.objects.exists()


# ---------------------------------------------------------------- CSP


@pytest.mark.parametrize("name", ["group-list", "group-create", "group-detail", "group-edit", "group-delete",
                                  "group-members-add"])
def test_pages_have_no_inline_script_or_style(org_admin_client, group, in_group, name):
    target = url(name) if name in ("group-list", "group-create") else url(name, pk=group.pk)
    html = page(org_admin_client.get(target))
    assert "<script>" not in html
    assert " style=" not in html
    assert "<style" not in html
    assert " on" + "click=" not in html
