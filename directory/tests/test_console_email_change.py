"""An org admin changes a member's email address from the console; the new address confirms it."""

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from directory.models import User
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory
from identity.models import OneTimeToken
from identity.tests.link_support import last_link, link_in, outbox

pytestmark = pytest.mark.django_db

NEW = "alice@newmail.test"
SENT = "A confirmation link was sent to the new address; the change takes effect when its owner confirms it."


def email_url(org, user) -> str:
    return reverse("console:user-email", kwargs={"org_slug": org.slug, "pk": user.pk})


def detail_url(org, user) -> str:
    return reverse("console:user-detail", kwargs={"org_slug": org.slug, "pk": user.pk})


def _email(user) -> str:
    return User.objects.get(pk=user.pk).email


def _nothing_written(user, email: str) -> None:
    assert _email(user) == email
    assert not outbox()
    assert not OneTimeToken.objects.exists()
    assert not AuditEvent.objects.filter(action="email.change_requested").exists()


@pytest.fixture
def alice(org):
    return MembershipFactory(org=org, role="member", user=UserFactory(email="alice@acme.test",
                                                                      full_name="Alice Archer")).user


@pytest.fixture
def shared(org, other_org):
    """Someone in Acme and in Globex: their address is not Acme's to change."""
    user = MembershipFactory(org=org, role="member", user=UserFactory(email="shared@acme.test")).user
    MembershipFactory(org=other_org, user=user, role="member")
    return user


# ---------------------------------------------------------------- the change, end to end


def test_the_page_names_the_member_and_what_happens(org_admin_client, org, alice):
    response = org_admin_client.get(email_url(org, alice))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Change the email address of alice@acme.test" in page
    assert '<label for="id_new_email">New email address</label>' in page
    assert "Nothing changes until the new address confirms" in page


def test_admin_asks_and_the_member_confirms_from_the_new_address(org_admin_client, sign_in, org, org_admin,
                                                                 alice):
    response = org_admin_client.post(email_url(org, alice), {"new_email": f"  {NEW} "}, follow=True)

    assert response.redirect_chain == [(detail_url(org, alice), 302)]
    assert SENT in response.content.decode()
    # Nothing changes before the new address confirms.
    assert _email(alice) == "alice@acme.test"
    [confirm] = outbox(recipient=NEW)
    assert confirm.subject == "Acme Corp: confirm your new email address"
    assert confirm.org == org
    for body in (confirm.body_text, confirm.body_html):
        assert "An administrator of Acme Corp asked to use alice@newmail.test as the email address of the " \
               "account alice@acme.test" in body
    [notice] = outbox(recipient="alice@acme.test")
    assert notice.subject == "Acme Corp: a change of your email address was requested"
    assert "An administrator of Acme Corp asked to change the email address of your account" in notice.body_text
    assert "ask the administrators of Acme Corp" in notice.body_html
    assert "/account/email/confirm/" not in notice.body_text
    event = AuditEvent.objects.get(action="email.change_requested")
    assert (event.actor, event.org, event.target_id) == (org_admin, org, str(alice.pk))
    assert event.metadata == {"before": "alice@acme.test", "after": NEW, "taken": False, "by_admin": True}

    # The member, signed in as themselves, confirms on the existing hosted page.
    link = link_in(confirm)
    member_browser = sign_in(alice, Client())
    assert member_browser.get(link).status_code == 200
    assert _email(alice) == "alice@acme.test"
    response = member_browser.post(link)

    assert response.status_code == 302
    user = User.objects.get(pk=alice.pk)
    assert (user.email, user.email_verified) == (NEW, True)
    changed = AuditEvent.objects.get(action="email.changed")
    assert (changed.actor, changed.org, changed.metadata) == (alice, org, {"before": "alice@acme.test",
                                                                         "after": NEW})
    [told] = outbox(kind="email_changed")
    assert told.recipient == "alice@acme.test"


def test_the_admin_cannot_confirm_the_link(org_admin_client, org, alice):
    org_admin_client.post(email_url(org, alice), {"new_email": NEW})
    link = last_link(recipient=NEW)

    response = org_admin_client.post(link)

    assert response.status_code == 403
    assert "This link belongs to another account." in response.content.decode()
    assert _email(alice) == "alice@acme.test"


def test_a_taken_address_answers_the_same_and_sends_a_note_instead(org_admin_client, org, org_admin, alice):
    UserFactory(email="taken@elsewhere.test")

    response = org_admin_client.post(email_url(org, alice), {"new_email": "TAKEN@elsewhere.test"}, follow=True)

    assert response.redirect_chain == [(detail_url(org, alice), 302)]
    assert SENT in response.content.decode()
    [note] = outbox(recipient__iexact="taken@elsewhere.test")
    assert note.subject == "Acme Corp: this address already has an account"
    assert "/account/email/confirm/" not in note.body_text
    assert not OneTimeToken.objects.exists()
    assert [e.recipient for e in outbox(kind="email_change")] == ["TAKEN@elsewhere.test", "alice@acme.test"]
    assert _email(alice) == "alice@acme.test"
    event = AuditEvent.objects.get(action="email.change_requested")
    assert (event.actor, event.target_id) == (org_admin, str(alice.pk))
    assert event.metadata == {"before": "alice@acme.test", "after": "TAKEN@elsewhere.test", "taken": True,
                              "by_admin": True}


def test_the_self_service_emails_still_read_as_the_owners_request(client, sign_in, org_member):
    """The same templates, without an org admin: the wording of the owner's own request is unchanged."""
    member = sign_in(org_member)
    member.post("/account/email", {"new_email": "mia@newmail.test", "current_password": DEFAULT_PASSWORD})

    confirm, notice = outbox(kind="email_change")
    assert "The account member@acme.test asked to use mia@newmail.test" in confirm.body_text
    assert "administrator" not in confirm.body_text + notice.body_text
    assert "Someone signed in as member@acme.test asked" in notice.body_text
    assert "by_admin" not in AuditEvent.objects.get(action="email.change_requested").metadata


@pytest.mark.parametrize(("new_email", "message"), [
    ("", "This field is required."),
    ("not-an-address", "Enter a valid email address."),
    ("ALICE@acme.test", "alice@acme.test already has this address."),
])
def test_bad_input_is_a_field_error_and_writes_nothing(org_admin_client, org, alice, new_email, message):
    response = org_admin_client.post(email_url(org, alice), {"new_email": new_email})

    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors["new_email"])
    assert 'id="id_new_email_error"' in response.content.decode()
    _nothing_written(alice, "alice@acme.test")


# ---------------------------------------------------------------- refusals


def test_a_user_of_several_orgs_is_refused_and_nothing_is_written(org_admin_client, org, shared):
    page = org_admin_client.get(email_url(org, shared)).content.decode()
    assert "only a platform operator can change their email address" in page

    response = org_admin_client.post(email_url(org, shared), {"new_email": NEW})

    assert response.status_code == 200
    assert "shared@acme.test also belongs to another organization; ask a platform operator." in \
        response.content.decode()
    _nothing_written(shared, "shared@acme.test")


def test_an_operator_who_is_a_member_is_refused(org_admin_client, org, operator):
    MembershipFactory(org=org, user=operator, role="member")

    response = org_admin_client.post(email_url(org, operator), {"new_email": NEW})

    assert response.status_code == 200
    assert "operator@example.com is a platform operator" in response.content.decode()
    _nothing_written(operator, "operator@example.com")


def test_an_admin_changes_their_own_address_on_the_account_page(org_admin_client, org, org_admin):
    response = org_admin_client.post(email_url(org, org_admin), {"new_email": NEW})

    assert response.status_code == 200
    assert "Change your own email address on your account page" in response.content.decode()
    _nothing_written(org_admin, "admin@acme.test")


def test_an_invited_member_without_a_password_is_refused(org_admin_client, org):
    invited = MembershipFactory(org=org, role="member", status="invited", user=UserFactory(email="new@acme.test")).user
    invited.set_unusable_password()  # as an invitation leaves a new account
    invited.save()

    response = org_admin_client.post(email_url(org, invited), {"new_email": NEW}, follow=True)

    # The same refusal for every invitation, whether or not the account existed (issue #10).
    assert response.redirect_chain == [(reverse("console:user-detail", kwargs={"org_slug": org.slug,
                                                                              "pk": invited.pk}), 302)]
    assert "Account actions are available once the membership is active." in response.content.decode()
    _nothing_written(invited, "new@acme.test")


def test_an_admin_cannot_change_an_owners_address(org_admin_client, org, org_owner):
    assert org_admin_client.get(email_url(org, org_owner)).status_code == 403
    assert org_admin_client.post(email_url(org, org_owner), {"new_email": NEW}).status_code == 403
    _nothing_written(org_owner, "owner@acme.test")


def test_an_owner_can_change_an_owners_address(client, sign_in, org, org_owner):
    other_owner = MembershipFactory(org=org, role="owner", user=UserFactory(email="boss@acme.test")).user
    owner = sign_in(org_owner)

    response = owner.post(email_url(org, other_owner), {"new_email": NEW})

    assert response.status_code == 302
    assert [e.recipient for e in outbox(kind="email_change")] == [NEW, "boss@acme.test"]


@pytest.mark.parametrize("role_user", ["org_auditor", "org_member"])
def test_auditors_and_members_get_403(client, sign_in, org, alice, role_user, request):
    browser = sign_in(request.getfixturevalue(role_user))

    assert browser.get(email_url(org, alice)).status_code == 403
    assert browser.post(email_url(org, alice), {"new_email": NEW}).status_code == 403
    _nothing_written(alice, "alice@acme.test")


def test_another_orgs_admin_gets_404(other_org_admin_client, org, alice):
    assert other_org_admin_client.get(email_url(org, alice)).status_code == 404
    assert other_org_admin_client.post(email_url(org, alice), {"new_email": NEW}).status_code == 404
    _nothing_written(alice, "alice@acme.test")


def test_a_user_of_another_org_is_404_here(org_admin_client, org, other_org_admin):
    assert org_admin_client.get(email_url(org, other_org_admin)).status_code == 404
    assert org_admin_client.post(email_url(org, other_org_admin), {"new_email": NEW}).status_code == 404


def test_it_needs_csrf(sign_in, org, org_admin, alice):
    browser = sign_in(org_admin, Client(enforce_csrf_checks=True))

    assert browser.post(email_url(org, alice), {"new_email": NEW}).status_code == 403
    _nothing_written(alice, "alice@acme.test")


# ---------------------------------------------------------------- the detail page


def test_the_detail_page_links_to_it_where_allowed(org_admin_client, org, alice, shared, org_owner):
    href = f'href="{email_url(org, alice)}"'
    assert href in org_admin_client.get(detail_url(org, alice)).content.decode()

    shared_page = org_admin_client.get(detail_url(org, shared)).content.decode()
    assert f'href="{email_url(org, shared)}"' not in shared_page
    assert "Change email address" in shared_page  # shown disabled, with the reason
    owner_page = org_admin_client.get(detail_url(org, org_owner)).content.decode()
    assert f'href="{email_url(org, org_owner)}"' not in owner_page


def test_the_auditor_sees_no_link(client, sign_in, org, org_auditor, alice):
    page = sign_in(org_auditor).get(detail_url(org, alice)).content.decode()
    assert email_url(org, alice) not in page
