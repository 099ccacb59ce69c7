"""Organizations and memberships (model rules and their services), and the append-only audit log."""

import pytest
from django.db import IntegrityError, transaction

from audit.models import AuditEvent
from audit.services import audit_record
from config.exceptions import AlreadyExists, DomainError
from directory.tests.factories import MembershipFactory, UserFactory
from orgs.models import Membership, Organization
from orgs.services import membership_create, organization_create, organization_reactivate, organization_suspend

# --- memberships ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_membership_per_user_and_org(org):
    user = UserFactory()
    Membership.objects.create(user=user, org=org, role=Membership.Role.MEMBER)

    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=user, org=org, role=Membership.Role.ADMIN)


@pytest.mark.django_db
def test_the_same_user_may_belong_to_several_orgs(org, other_org):
    user = UserFactory()
    MembershipFactory(user=user, org=org)
    MembershipFactory(user=user, org=other_org)

    assert Membership.objects.filter(user=user).count() == 2
    assert list(Membership.objects.for_org(org).filter(user=user).values_list("org__slug", flat=True)) == ["acme"]


@pytest.mark.django_db
def test_membership_create_writes_audit_with_org(org, org_admin):
    user = UserFactory(email="new@example.test")

    membership = membership_create(org=org, user=user, role=Membership.Role.AUDITOR, actor=org_admin)

    assert membership.role == Membership.Role.AUDITOR
    assert membership.status == Membership.Status.ACTIVE
    event = AuditEvent.objects.get(action="membership.created")
    assert event.org == org
    assert event.actor == org_admin
    assert event.target_type == "orgs.membership"
    assert event.target_id == str(membership.pk)
    assert event.metadata == {"user": "new@example.test", "role": "auditor", "status": "active"}


@pytest.mark.django_db
def test_membership_create_refuses_a_second_membership(org, org_member):
    audit_before = AuditEvent.objects.count()

    with pytest.raises(AlreadyExists) as excinfo:
        membership_create(org=org, user=org_member, role=Membership.Role.ADMIN)

    assert org_member.email in excinfo.value.message
    assert "Acme Corp" in excinfo.value.message
    assert Membership.objects.get(org=org, user=org_member).role == Membership.Role.MEMBER
    assert AuditEvent.objects.count() == audit_before


@pytest.mark.django_db
def test_membership_create_refuses_an_unknown_role(org):
    user = UserFactory()

    with pytest.raises(DomainError) as excinfo:
        membership_create(org=org, user=user, role="superadmin")

    assert excinfo.value.field == "role"
    assert not Membership.objects.filter(user=user).exists()
    assert not AuditEvent.objects.exists()


# --- organizations --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_organization_create_writes_audit(operator):
    org = organization_create(slug=" Initech ", name=" Initech Ltd ", actor=operator)

    assert (org.slug, org.name, org.status) == ("initech", "Initech Ltd", Organization.Status.ACTIVE)
    event = AuditEvent.objects.get(action="organization.created")
    assert event.org == org
    assert event.actor == operator
    assert event.target_id == str(org.pk)
    assert event.metadata == {"slug": "initech", "name": "Initech Ltd"}


@pytest.mark.parametrize("slug", ["platform", "PLATFORM", "console", "login", "admin"])
@pytest.mark.django_db
def test_organization_create_refuses_a_reserved_slug(operator, slug):
    with pytest.raises(DomainError) as excinfo:
        organization_create(slug=slug, name="Sneaky", actor=operator)

    assert excinfo.value.field == "slug"
    assert "reserved" in excinfo.value.message
    assert not Organization.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("slug", ["Bad Slug!", "-x", "x-", "", "a" * 51, "under_score", "dots.dot"])
@pytest.mark.django_db
def test_organization_create_refuses_a_malformed_slug(operator, slug):
    with pytest.raises(DomainError) as excinfo:
        organization_create(slug=slug, name="Malformed", actor=operator)

    assert excinfo.value.field == "slug"
    assert not Organization.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_organization_create_refuses_a_duplicate_slug(operator, org):
    with pytest.raises(AlreadyExists) as excinfo:
        organization_create(slug="ACME", name="Acme Again", actor=operator)

    assert excinfo.value.field == "slug"
    assert "acme" in excinfo.value.message
    assert Organization.objects.get(slug="acme").name == "Acme Corp"
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_organization_create_refuses_an_empty_name(operator):
    with pytest.raises(DomainError) as excinfo:
        organization_create(slug="nameless", name="   ", actor=operator)

    assert excinfo.value.field == "name"
    assert not Organization.objects.exists()


@pytest.mark.django_db
def test_organization_suspend_and_reactivate_record_before_and_after(operator, org):
    suspended = organization_suspend(org=org, actor=operator, reason="unpaid invoice")

    assert suspended.status == Organization.Status.SUSPENDED
    org.refresh_from_db()
    assert not org.is_active
    event = AuditEvent.objects.get(action="organization.suspended")
    assert event.org == org
    assert event.actor == operator
    assert event.metadata == {"before": "active", "after": "suspended", "reason": "unpaid invoice",
                              "tokens_revoked": 0}

    reactivated = organization_reactivate(org=org, actor=operator)

    assert reactivated.status == Organization.Status.ACTIVE
    org.refresh_from_db()
    assert org.is_active
    event = AuditEvent.objects.get(action="organization.reactivated")
    assert event.metadata == {"before": "suspended", "after": "active", "reason": ""}


@pytest.mark.django_db
def test_suspending_a_suspended_org_changes_nothing(operator, org):
    organization_suspend(org=org, actor=operator)
    organization_suspend(org=org, actor=operator)
    organization_reactivate(org=org, actor=operator)
    organization_reactivate(org=org, actor=operator)

    assert AuditEvent.objects.filter(action="organization.suspended").count() == 1
    assert AuditEvent.objects.filter(action="organization.reactivated").count() == 1


# --- audit events are append-only -----------------------------------------------------------------


@pytest.mark.django_db
def test_saving_an_existing_audit_event_raises(org):
    event = audit_record(action="organization.created", org=org, target=org)
    event.action = "organization.deleted"

    with pytest.raises(TypeError, match="append-only"):
        event.save()

    assert AuditEvent.objects.get(pk=event.pk).action == "organization.created"


@pytest.mark.django_db
def test_bulk_updates_of_audit_events_raise(org):
    event = audit_record(action="organization.created", org=org, target=org)

    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(pk=event.pk).update(action="organization.deleted")
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.update(actor_label="someone else")
    with pytest.raises(TypeError, match="append-only"):
        org.audit_events.update(action="organization.deleted")
    event.action = "organization.deleted"
    with pytest.raises(TypeError, match="append-only"), transaction.atomic():
        AuditEvent.objects.bulk_update([event], ["action"])

    assert AuditEvent.objects.get(pk=event.pk).action == "organization.created"


@pytest.mark.django_db
def test_new_audit_events_can_still_be_written(org):
    audit_record(action="organization.created", org=org, target=org)
    audit_record(action="organization.suspended", org=org, target=org)

    assert list(AuditEvent.objects.for_org(org).values_list("action", flat=True)) == [
        "organization.suspended", "organization.created"]
