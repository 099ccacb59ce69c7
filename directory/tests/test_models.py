"""User and Group models: the rules the database itself enforces."""

import uuid

import pytest
from django.db import IntegrityError, transaction

from audit.models import AuditEvent
from audit.services import audit_record
from directory.models import Group, GroupMembership, User
from directory.tests.factories import GroupFactory, UserFactory


@pytest.mark.parametrize(("first", "second"), [("Alice@x.test", "alice@X.TEST"), ("bob@y.test", "BOB@y.test")])
@pytest.mark.django_db
def test_email_is_unique_in_any_letter_case(first, second):
    User.objects.create(email=first)

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(email=second)

    assert User.objects.filter(email__iexact=first).count() == 1


@pytest.mark.django_db
def test_public_id_is_a_uuid_stable_across_saves_and_not_the_pk():
    user = UserFactory()
    public_id = user.public_id

    assert isinstance(public_id, uuid.UUID)
    assert str(public_id) != str(user.pk)

    user.full_name = "Renamed"
    user.save()
    user.refresh_from_db()
    assert user.public_id == public_id
    assert User.objects.get(pk=user.pk).public_id == public_id


@pytest.mark.django_db
def test_each_user_gets_a_different_public_id():
    assert UserFactory().public_id != UserFactory().public_id


@pytest.mark.django_db
def test_create_user_lowercases_the_domain_and_finds_by_email_in_any_case():
    user = User.objects.create_user("Carol@Example.COM", "correct-horse-battery-staple")

    assert user.email == "Carol@example.com"
    assert User.objects.get_by_natural_key("CAROL@EXAMPLE.COM") == user
    assert user.check_password("correct-horse-battery-staple")
    assert not user.is_superuser


@pytest.mark.django_db
def test_create_superuser_is_an_operator():
    operator = User.objects.create_superuser("root@example.test", "correct-horse-battery-staple")

    assert operator.is_superuser
    assert operator.is_staff


def test_create_user_without_email_is_refused():
    with pytest.raises(ValueError, match="email"):
        User.objects.create_user("", "x")


@pytest.mark.django_db
def test_disabled_status_means_inactive():
    user = UserFactory(status=User.Status.DISABLED)

    assert not user.is_active
    assert UserFactory().is_active


@pytest.mark.django_db
def test_group_slug_is_unique_within_an_org(org):
    GroupFactory(org=org, slug="engineering")

    with pytest.raises(IntegrityError), transaction.atomic():
        GroupFactory(org=org, slug="engineering")


@pytest.mark.django_db
def test_same_group_slug_is_allowed_in_another_org(org, other_org):
    GroupFactory(org=org, slug="engineering")
    GroupFactory(org=other_org, slug="engineering")

    assert Group.objects.filter(slug="engineering").count() == 2
    assert Group.objects.for_org(org).filter(slug="engineering").count() == 1


@pytest.mark.django_db
def test_a_user_joins_a_group_once(group):
    user = UserFactory()
    GroupMembership.objects.create(group=group, user=user)

    with pytest.raises(IntegrityError), transaction.atomic():
        GroupMembership.objects.create(group=group, user=user)


@pytest.mark.django_db
def test_deleting_a_user_keeps_their_audit_rows_readable(org):
    user = UserFactory(email="leaver@example.test")
    event = audit_record(action="user.created", actor=user, org=org, target=user)

    user.delete()

    event = AuditEvent.objects.get(pk=event.pk)
    assert event.actor is None
    assert event.actor_label == "leaver@example.test"
    assert event.target_label == "leaver@example.test"
