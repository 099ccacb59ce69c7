"""Creating an organization (issue #13 item 6): the slug comes from the name when left blank, a clash is a
clear field error, and an optional first owner is invited in the same step, audited and emailed."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from directory.models import User
from directory.tests.factories import MembershipFactory, UserFactory
from emailqueue.models import OutboundEmail
from orgs.forms import slug_from_name
from orgs.models import Membership, Organization

pytestmark = pytest.mark.django_db

CREATE = "console:platform-org-create"


def post(client, **data):
    return client.post(reverse(CREATE), {"name": "", "slug": "", "first_owner_email": "", **data})


@pytest.mark.parametrize(("name", "slug"), [
    ("Initech", "initech"),
    ("Wayne Enterprises, Inc.", "wayne-enterprises-inc"),
    ("  Société Générale  ", "societe-generale"),
    ("snake_case__name", "snake-case-name"),
    ("A" * 60 + " tail", "a" * 50),
    ("x" * 49 + " y", "x" * 49),  # cut at 50 would end with a hyphen: trimmed
])
def test_slug_from_name(name, slug):
    assert slug_from_name(name) == slug


def test_a_blank_slug_is_made_from_the_name(operator_client, operator):
    response = post(operator_client, name="Wayne Enterprises, Inc.")
    assert response.status_code == 302
    org = Organization.objects.get(slug="wayne-enterprises-inc")
    assert org.name == "Wayne Enterprises, Inc."
    assert response["Location"] == reverse("console:org-overview", kwargs={"org_slug": org.slug})
    event = AuditEvent.objects.get(action="organization.created")
    assert (event.org, event.actor) == (org, operator)
    assert event.metadata == {"slug": "wayne-enterprises-inc", "name": "Wayne Enterprises, Inc."}
    assert not Membership.objects.filter(org=org).exists()
    assert not OutboundEmail.objects.exists()


def test_a_slug_made_from_the_name_that_is_taken_is_a_field_error_showing_it(operator_client, org):
    response = post(operator_client, name="ACME", first_owner_email="boss@acme.example")
    assert response.status_code == 200
    assert response.context["form"].errors["slug"] == [
        "The slug “acme”, made from the name, is taken by another organization; enter another."]
    page = response.content.decode()
    assert 'value="acme"' in page  # the tried slug is in the field, ready to edit
    assert 'value="ACME"' in page
    assert 'value="boss@acme.example"' in page  # the rest of the input is kept
    assert Organization.objects.count() == 1
    assert not User.objects.filter(email="boss@acme.example").exists()


def test_a_name_with_nothing_to_make_a_slug_from_asks_for_one(operator_client):
    response = post(operator_client, name="!!! ???")
    assert response.status_code == 200
    assert "no letters or digits to make a slug from" in response.context["form"].errors["slug"][0]
    assert not Organization.objects.exists()


def test_a_typed_slug_wins_over_the_name(operator_client):
    assert post(operator_client, name="Initech", slug="  InitTech-HQ ").status_code == 302
    assert Organization.objects.filter(slug="inittech-hq", name="Initech").exists()


def test_the_first_owner_is_invited_in_the_same_step(operator_client, operator):
    response = post(operator_client, name="Initech", first_owner_email="peter@Initech.example")
    assert response.status_code == 302
    org = Organization.objects.get(slug="initech")
    membership = Membership.objects.get(org=org)
    assert membership.user.email == "peter@initech.example"
    assert (membership.role, membership.status) == (Membership.Role.OWNER, Membership.Status.INVITED)
    created = AuditEvent.objects.get(action="organization.created")
    invited = AuditEvent.objects.get(action="invitation.sent")
    assert (invited.org, invited.actor, invited.target_id) == (org, operator, str(membership.pk))
    assert invited.metadata["role"] == "owner"
    assert created.pk < invited.pk
    email = OutboundEmail.objects.get()
    assert email.recipient == "peter@initech.example"
    assert "Initech" in email.subject + email.body_text
    page = operator_client.get(response["Location"]).content.decode()
    assert "Created Initech and invited peter@initech.example as its owner." in page


def test_an_existing_account_is_invited_without_touching_its_password(operator_client, other_org):
    someone = MembershipFactory(org=other_org, user=UserFactory(email="sam@example.test")).user
    before = someone.password
    assert post(operator_client, name="Initech", first_owner_email="sam@example.test").status_code == 302
    membership = Membership.objects.get(org__slug="initech")
    assert (membership.user, membership.role, membership.status) == (someone, "owner", "invited")
    someone.refresh_from_db()
    assert someone.password == before


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "x" * 250 + "@example.test"])
def test_a_bad_owner_email_is_a_field_error_and_creates_nothing(operator_client, email):
    response = post(operator_client, name="Initech", first_owner_email=email)
    assert response.status_code == 200
    assert response.context["form"].errors["first_owner_email"]
    assert f'value="{email}"' in response.content.decode()
    assert not Organization.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_failed_invitation_leaves_no_half_made_org(operator_client, monkeypatch):
    from config.exceptions import DomainError
    from orgs import platform_services

    def refuse(**kwargs):
        raise DomainError("Invitations are switched off.", field="email")

    monkeypatch.setattr(platform_services, "member_invite", refuse)
    response = post(operator_client, name="Initech", first_owner_email="peter@initech.example")
    assert response.status_code == 200
    assert response.context["form"].errors["first_owner_email"] == ["Invitations are switched off."]
    assert not Organization.objects.exists()
    assert not AuditEvent.objects.filter(action="organization.created").exists()


def test_the_page_loads_the_slug_script_and_marks_the_slug_field(operator_client):
    page = operator_client.get(reverse(CREATE)).content.decode()
    assert 'src="/static/console/slugify.js"' in page
    assert 'data-slug-source="id_name"' in page
    assert 'name="first_owner_email"' in page
    assert "<script>" not in page  # no inline script: the CSP allows 'self' only


@pytest.mark.parametrize("role", ["owner", "admin", "auditor", "member"])
def test_org_roles_get_404_and_create_nothing(sign_in, org, role):
    client = sign_in(MembershipFactory(org=org, role=role).user)
    assert client.get(reverse(CREATE)).status_code == 404
    assert post(client, name="Initech").status_code == 404
    assert not Organization.objects.filter(slug="initech").exists()
