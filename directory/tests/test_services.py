"""Directory services: creating users and groups, adding group members — each with its audit row."""

import pytest

from audit.models import AuditEvent
from config.exceptions import AlreadyExists, DomainError
from directory.models import Group, GroupMembership, User
from directory.services import group_create, group_member_add, normalize_email, user_create
from directory.tests.factories import GroupFactory, MembershipFactory, UserFactory
from orgs.models import Membership

PASSWORD = "correct-horse-battery-staple"


# --- user_create ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_user_create_writes_user_created_audit(operator):
    user = user_create(email="  Dana@Example.COM ", password=PASSWORD, full_name=" Dana ", actor=operator)

    assert user.email == "Dana@example.com"
    assert user.full_name == "Dana"
    assert user.check_password(PASSWORD)
    event = AuditEvent.objects.get(action="user.created")
    assert event.actor == operator
    assert event.target_type == "directory.user"
    assert event.target_id == str(user.pk)
    assert event.metadata == {"email": "Dana@example.com", "operator": False}
    assert event.org is None


@pytest.mark.parametrize("again", ["alice@x.test", "ALICE@X.TEST", "Alice@x.test", " alice@X.test "])
@pytest.mark.django_db
def test_user_create_refuses_an_existing_email_in_any_case(again):
    user_create(email="Alice@x.test", password=PASSWORD)
    users_before = User.objects.count()
    audit_before = AuditEvent.objects.count()

    with pytest.raises(AlreadyExists) as excinfo:
        user_create(email=again, password=PASSWORD)

    assert excinfo.value.field == "email"
    assert normalize_email(again) in excinfo.value.message
    assert User.objects.count() == users_before
    assert AuditEvent.objects.count() == audit_before


@pytest.mark.parametrize("email", ["", "not-an-email", "a@", "@x.test", "two@@x.test"])
@pytest.mark.django_db
def test_user_create_refuses_a_malformed_email(email):
    with pytest.raises(DomainError) as excinfo:
        user_create(email=email, password=PASSWORD)

    assert excinfo.value.field == "email"
    assert not User.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("weak", ["short", "password1234", "12345678901234"])
@pytest.mark.django_db
def test_user_create_applies_the_password_policy(weak):
    with pytest.raises(DomainError) as excinfo:
        user_create(email="erin@example.test", password=weak)

    assert excinfo.value.field == "password"
    assert not User.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_user_create_without_password_leaves_it_unusable():
    user = user_create(email="invitee@example.test", password=None)

    assert not user.has_usable_password()
    assert not user.check_password("")


@pytest.mark.django_db
def test_user_create_operator_is_recorded_as_such():
    user = user_create(email="root@example.test", password=PASSWORD, is_superuser=True)

    assert user.is_superuser
    assert AuditEvent.objects.get(action="user.created").metadata["operator"] is True


# --- groups ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_group_create_writes_audit_with_org(org, org_admin):
    group = group_create(org=org, name=" Site Reliability ", actor=org_admin)

    assert group.slug == "site-reliability"
    assert group.org == org
    event = AuditEvent.objects.get(action="group.created")
    assert event.org == org
    assert event.actor == org_admin
    assert event.target_id == str(group.pk)
    assert event.metadata == {"name": "Site Reliability", "slug": "site-reliability"}


@pytest.mark.django_db
def test_group_slug_is_unique_within_an_org_but_free_in_another(org, other_org):
    group_create(org=org, name="Engineering")

    with pytest.raises(AlreadyExists) as excinfo:
        group_create(org=org, name="Other name", slug="engineering")
    assert excinfo.value.field == "slug"
    assert Group.objects.for_org(org).count() == 1

    elsewhere = group_create(org=other_org, name="Engineering")
    assert elsewhere.slug == "engineering"
    assert AuditEvent.objects.filter(action="group.created").count() == 2


@pytest.mark.parametrize(("name", "slug", "field"), [("  ", "", "name"), ("!!!", "", "slug")])
@pytest.mark.django_db
def test_group_create_refuses_empty_name_or_slug(org, name, slug, field):
    with pytest.raises(DomainError) as excinfo:
        group_create(org=org, name=name, slug=slug)

    assert excinfo.value.field == field
    assert not Group.objects.exists()


@pytest.mark.django_db
def test_group_member_add_refuses_a_user_outside_the_groups_org(group, other_org_admin):
    with pytest.raises(DomainError) as excinfo:
        group_member_add(group=group, user=other_org_admin)

    assert excinfo.value.field == "user"
    assert other_org_admin.email in excinfo.value.message
    assert "Acme Corp" in excinfo.value.message
    assert not GroupMembership.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_group_member_add_refuses_a_user_with_no_membership(group):
    loner = UserFactory()

    with pytest.raises(DomainError):
        group_member_add(group=group, user=loner)

    assert not group.members.exists()


@pytest.mark.django_db
def test_group_member_add_adds_a_member_of_the_org_once(group, org_member, org_admin):
    first = group_member_add(group=group, user=org_member, actor=org_admin)
    second = group_member_add(group=group, user=org_member, actor=org_admin)

    assert first == second
    assert list(group.members.all()) == [org_member]
    event = AuditEvent.objects.get(action="group.member_added")
    assert event.org == group.org
    assert event.actor == org_admin
    assert event.metadata == {"user": org_member.email}


@pytest.mark.django_db
def test_group_member_add_takes_a_member_of_the_right_org_only(org, other_org):
    user = MembershipFactory(org=other_org, role=Membership.Role.MEMBER).user
    theirs = GroupFactory(org=other_org, slug="ops")
    ours = GroupFactory(org=org, slug="ops")

    group_member_add(group=theirs, user=user)
    with pytest.raises(DomainError):
        group_member_add(group=ours, user=user)

    assert list(user.directory_groups.all()) == [theirs]


def test_group_slug_from_a_long_name_fits_the_column(org):
    from directory.services import group_create

    group = group_create(org=org, name="Very long group name " * 7)
    assert len(group.slug) <= 80
    assert not group.slug.endswith("-")
