"""Changing your email address: confirmed by the new address, signed in as yourself; the old one is told."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from directory.models import User
from directory.tests.factories import DEFAULT_PASSWORD, UserFactory
from identity.models import OneTimeToken
from identity.tests.link_support import last_link, link_in, outbox, tampered

pytestmark = pytest.mark.django_db

URL = "/account/email"
NEW = "mia@newmail.test"


def _ask(client, new_email=NEW, password=DEFAULT_PASSWORD):
    return client.post(URL, {"new_email": new_email, "current_password": password})


def _email(user) -> str:
    return User.objects.get(pk=user.pk).email


@pytest.fixture
def member_client(client, sign_in, org_member):
    return sign_in(org_member)


@pytest.fixture
def confirm_link(member_client):
    _ask(member_client)
    return last_link(recipient=NEW)


def test_it_needs_a_signed_in_user(client):
    assert client.get(URL)["Location"] == f"/login?next={URL}"


def test_asking_sends_a_link_to_the_new_address_and_a_notice_to_the_old(member_client, org_member, org):
    response = _ask(member_client)

    assert response.status_code == 302
    assert response["Location"] == "/account/"
    page = member_client.get("/account/").content.decode()
    assert f"We sent a confirmation link to {NEW}." in page
    assert f"Waiting for confirmation from {NEW}" in page
    assert _email(org_member) == "member@acme.test"
    confirm, notice = outbox(recipient=NEW), outbox(recipient="member@acme.test")
    assert [e.subject for e in confirm] == ["Acme Corp: confirm your new email address"]
    assert link_in(confirm[0]).startswith("/account/email/confirm/")
    assert [e.subject for e in notice] == ["Acme Corp: a change of your email address was requested"]
    assert NEW in notice[0].body_text
    assert "/account/email/confirm/" not in notice[0].body_text
    event = AuditEvent.objects.get(action="email.change_requested")
    assert (event.actor, event.org, event.metadata["before"], event.metadata["after"]) == (
        org_member, org, "member@acme.test", NEW)


def test_opening_the_link_signed_in_asks_and_changes_nothing(member_client, confirm_link, org_member):
    for _ in range(3):
        response = member_client.get(confirm_link)
        assert response.status_code == 200
    assert f"from member@acme.test to {NEW}" in response.content.decode()
    assert _email(org_member) == "member@acme.test"
    assert OneTimeToken.objects.live().count() == 1


def test_confirming_changes_the_address_and_tells_the_old_one(member_client, confirm_link, org_member, org):
    response = member_client.post(confirm_link)

    assert response.status_code == 302
    user = User.objects.get(pk=org_member.pk)
    assert (user.email, user.email_verified) == (NEW, True)
    assert f"Your email address is now {NEW}." in member_client.get("/account/").content.decode()
    [changed] = outbox(kind="email_changed")
    assert (changed.recipient, changed.subject) == ("member@acme.test", "Acme Corp: your email address was changed")
    assert NEW in changed.body_text
    event = AuditEvent.objects.get(action="email.changed")
    assert (event.actor, event.org, event.metadata) == (org_member, org, {"before": "member@acme.test",
                                                                         "after": NEW})
    # The account now signs in with the new address only.
    assert Client().post("/login", {"email": NEW, "password": DEFAULT_PASSWORD}).status_code == 302


def test_a_used_link_cannot_be_used_again(member_client, confirm_link):
    member_client.post(confirm_link)

    response = member_client.post(confirm_link)

    assert response.status_code == 410
    assert "This link has already been used." in response.content.decode()
    assert 'href="/account/email"' in response.content.decode()


def test_opening_the_link_signed_out_leads_through_sign_in(confirm_link, org_member):
    browser = Client()

    response = browser.get(confirm_link)

    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=/account/email/confirm/")
    assert browser.post(confirm_link).status_code == 302
    assert _email(org_member) == "member@acme.test"
    assert OneTimeToken.objects.live().count() == 1


def test_another_account_cannot_confirm(confirm_link, org_member, sign_in):
    stranger = sign_in(UserFactory(email=NEW), Client())

    for response in (stranger.get(confirm_link), stranger.post(confirm_link)):
        assert response.status_code == 403
        assert "This link belongs to another account." in response.content.decode()
    assert _email(org_member) == "member@acme.test"
    assert OneTimeToken.objects.live().count() == 1


def test_an_expired_link_is_refused(member_client, confirm_link, org_member):
    OneTimeToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = member_client.post(confirm_link)

    assert response.status_code == 410
    assert "This link has expired." in response.content.decode()
    assert _email(org_member) == "member@acme.test"


def test_a_tampered_link_is_not_valid(member_client, confirm_link, org_member):
    assert member_client.post(tampered(confirm_link)).status_code == 404
    assert _email(org_member) == "member@acme.test"


def test_asking_again_voids_the_first_link(member_client, confirm_link, org_member):
    _ask(member_client, "mia@other.test")

    assert member_client.post(confirm_link).status_code == 410
    assert _email(org_member) == "member@acme.test"
    assert member_client.post(last_link(recipient="mia@other.test")).status_code == 302
    assert _email(org_member) == "mia@other.test"


def test_a_taken_address_answers_the_same_but_sends_no_link(member_client, org_member, org_admin):
    response = _ask(member_client, "ADMIN@acme.test")

    assert response.status_code == 302
    assert "We sent a confirmation link to ADMIN@acme.test." in member_client.get("/account/").content.decode()
    [note] = outbox(recipient__iexact="admin@acme.test")
    assert note.subject == "Acme Corp: this address already has an account"
    assert "/account/email/confirm/" not in note.body_text
    assert not OneTimeToken.objects.exists()
    assert _email(org_member) == "member@acme.test"


def test_an_address_taken_after_asking_cannot_be_confirmed(member_client, confirm_link, org_member):
    UserFactory(email=NEW.upper())

    response = member_client.post(confirm_link)

    assert response.status_code == 403
    assert "This address now belongs to another account" in response.content.decode()
    assert _email(org_member) == "member@acme.test"


def test_confirming_voids_reset_links_sent_to_the_old_address(member_client, confirm_link, org_member,
                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/password/reset", {"email": "member@acme.test"})
    assert OneTimeToken.objects.live().filter(purpose="password_reset").count() == 1

    member_client.post(confirm_link)

    assert not OneTimeToken.objects.live().filter(purpose="password_reset").exists()


@pytest.mark.parametrize(("new_email", "password", "field", "message"), [
    (NEW, "wrong-password", "current_password", "Your current password is not correct."),
    (NEW, "", "current_password", "This field is required."),
    ("", DEFAULT_PASSWORD, "new_email", "This field is required."),
    ("not-an-address", DEFAULT_PASSWORD, "new_email", "Enter a valid email address."),
    ("MEMBER@acme.test", DEFAULT_PASSWORD, "new_email", "This is already your email address."),
])
def test_bad_input_re_renders_with_field_errors_and_sends_nothing(member_client, org_member, new_email, password,
                                                                  field, message):
    response = _ask(member_client, new_email, password)

    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not outbox()
    assert not OneTimeToken.objects.exists()
    assert not AuditEvent.objects.filter(action="email.change_requested").exists()
