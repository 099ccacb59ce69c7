"""The invitation page: setting up a new account, joining with an existing one, and every broken link."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from directory.models import User
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory
from identity.models import OneTimeToken
from identity.tests.html_forms import hidden_input
from identity.tests.link_support import last_link, tampered
from orgs.models import Membership
from orgs.services import invitation_resend, member_invite, membership_remove

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-enough-passphrase"


@pytest.fixture
def new_invitation(org, org_admin):
    """An invitation to an address with no account yet, and the path of its emailed link."""
    membership = member_invite(org=org, email="dana@example.test", role="member", actor=org_admin)
    return membership, last_link(recipient="dana@example.test")


@pytest.fixture
def existing_invitation(org, org_admin, other_org):
    """An invitation to an account that already exists (and has a password), and its link."""
    MembershipFactory(org=other_org, user=UserFactory(email="sam@example.test"))
    membership = member_invite(org=org, email="sam@example.test", role="member", actor=org_admin)
    return membership, last_link(recipient="sam@example.test")


def _set(client, path, first=NEW_PASSWORD, second=NEW_PASSWORD):
    return client.post(path, {"new_password1": first, "new_password2": second})


def _status(membership) -> str:
    return Membership.objects.get(pk=membership.pk).status


def _live(membership) -> bool:
    return OneTimeToken.objects.live().filter(membership=membership).exists()


# --- a new account -------------------------------------------------------------------------------


def test_opening_the_link_shows_the_setup_form_and_uses_nothing(client, new_invitation):
    membership, path = new_invitation

    for _ in range(3):  # a mail scanner, a preview, the person
        response = client.get(path)
        assert response.status_code == 200

    html = response.content.decode()
    assert "Set up your account" in html
    assert "You are invited to join Acme Corp as Member." in html
    assert 'value="dana@example.test"' in html
    assert _live(membership)
    assert _status(membership) == Membership.Status.INVITED
    # Still usable after all those GETs.
    assert _set(client, path).status_code == 302


def test_setting_the_password_activates_the_membership_and_then_signs_in(client, new_invitation):
    membership, path = new_invitation

    response = _set(client, path)

    assert response.status_code == 302
    assert response["Location"] == "/login"
    user = User.objects.get(email="dana@example.test")
    assert user.check_password(NEW_PASSWORD)
    assert user.email_verified
    assert _status(membership) == Membership.Status.ACTIVE
    assert OneTimeToken.objects.get(membership=membership).used_at is not None
    event = AuditEvent.objects.get(action="invitation.accepted")
    assert (event.actor, event.org, event.target_id) == (user, membership.org, str(membership.pk))
    assert event.metadata["password_set"] is True
    page = client.get("/login")
    assert "Your account is ready and you joined Acme Corp. Sign in with your new password." in page.content.decode()
    signed_in = client.post("/login", {"email": "dana@example.test", "password": NEW_PASSWORD})
    assert signed_in.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_used_link_gets_a_clear_page(client, new_invitation):
    membership, path = new_invitation
    _set(client, path)

    response = _set(Client(), path, "another-long-passphrase", "another-long-passphrase")

    assert response.status_code == 410
    html = response.content.decode()
    assert "This link has already been used." in html
    assert "You have already accepted this invitation to Acme Corp. Sign in to continue." in html
    assert User.objects.get(email="dana@example.test").check_password(NEW_PASSWORD)


def test_an_expired_link_says_whom_to_ask(client, new_invitation):
    membership, path = new_invitation
    OneTimeToken.objects.filter(membership=membership).update(expires_at=timezone.now() - timedelta(seconds=1))

    for response in (client.get(path), _set(client, path)):
        assert response.status_code == 410
        html = response.content.decode()
        assert "This link has expired." in html
        assert "Ask an administrator of Acme Corp to send you a new invitation." in html
    assert not User.objects.get(email="dana@example.test").has_usable_password()
    assert _status(membership) == Membership.Status.INVITED


def test_a_tampered_link_is_not_valid(client, new_invitation):
    membership, path = new_invitation

    for bad in (tampered(path), path + "x", "/invitation/short", path.replace("/invitation/", "/invitation/%00")):
        for response in (client.get(bad), _set(client, bad)):
            assert response.status_code == 404
            assert "This link is not valid." in response.content.decode()
            assert "Ask the administrator who invited you to send you a new invitation." in response.content.decode()
    assert _live(membership)
    assert _status(membership) == Membership.Status.INVITED


def test_a_resent_invitation_voids_the_old_link(client, new_invitation, org_admin):
    membership, old_path = new_invitation
    invitation_resend(membership=membership, actor=org_admin)
    new_path = last_link(recipient="dana@example.test")

    response = _set(client, old_path)

    assert response.status_code == 410
    assert "This link was replaced by a newer one." in response.content.decode()
    assert _status(membership) == Membership.Status.INVITED
    assert _set(client, new_path).status_code == 302
    assert _status(membership) == Membership.Status.ACTIVE


def test_a_removed_invitation_no_longer_works(client, new_invitation, org_admin):
    membership, path = new_invitation
    membership_remove(membership=membership, actor=org_admin)

    assert client.get(path).status_code == 404
    assert _set(client, path).status_code == 404
    assert not User.objects.get(email="dana@example.test").has_usable_password()


def test_a_reset_link_is_no_invitation(client, new_invitation):
    membership, path = new_invitation
    token = path.rsplit("/", 1)[1]

    assert client.get(f"/password/reset/{token}").status_code == 404


@pytest.mark.parametrize(("first", "second", "field", "message"), [
    (NEW_PASSWORD, "a-different-passphrase", "new_password2", "The two passwords do not match."),
    ("password", "password", "new_password1", "This password is too short."),
    ("password1234", "password1234", "new_password1", "This password is too common."),
    ("dana@example.test", "dana@example.test", "new_password1", "too similar to the email"),
    ("", "", "new_password1", "This field is required."),
    (NEW_PASSWORD, "", "new_password2", "This field is required."),
])
def test_bad_passwords_re_render_with_field_errors_and_change_nothing(client, new_invitation, first, second, field,
                                                                      message):
    membership, path = new_invitation

    response = _set(client, path, first, second)

    assert response.status_code == 200
    form = response.context["form"]
    assert any(message in error for error in form.errors[field])
    assert f'id="id_{field}_error"' in response.content.decode()
    assert not User.objects.get(email="dana@example.test").has_usable_password()
    assert _status(membership) == Membership.Status.INVITED
    assert _live(membership)


def test_a_post_without_fields_is_a_form_error_not_a_500(client, new_invitation):
    membership, path = new_invitation

    response = client.post(path, {})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()


# --- an existing account ---------------------------------------------------------------------------


def test_an_existing_account_is_asked_to_sign_in_and_no_password_form_is_offered(client, existing_invitation):
    membership, path = existing_invitation
    sam = membership.user
    password_before = sam.password

    page = client.get(path)
    posted = _set(client, path, "attacker-chosen-passphrase", "attacker-chosen-passphrase")

    for response in (page, posted):
        assert response.status_code == 200
        html = response.content.decode()
        assert "Join Acme Corp" in html
        assert "Sign in to accept" in html
        assert "new_password1" not in html
    sam.refresh_from_db()
    assert sam.password == password_before
    assert _status(membership) == Membership.Status.INVITED
    assert _live(membership)


def test_signing_in_from_the_invitation_comes_back_and_joins(client, existing_invitation):
    membership, path = existing_invitation
    login_url = client.get(path).context["login_url"]
    login_page = client.get(login_url)

    response = client.post("/login", {"email": "sam@example.test", "password": DEFAULT_PASSWORD,
                                      "next": hidden_input(login_page, "next")})

    assert response["Location"] == path
    join_page = client.get(path)
    assert join_page.status_code == 200
    assert "You are signed in as sam@example.test." in join_page.content.decode()
    assert _live(membership)
    joined = client.post(path)
    assert joined.status_code == 302
    assert _status(membership) == Membership.Status.ACTIVE
    event = AuditEvent.objects.get(action="invitation.accepted")
    assert (event.actor, event.metadata["password_set"]) == (membership.user, False)
    sam = User.objects.get(email="sam@example.test")
    assert sam.check_password(DEFAULT_PASSWORD)
    assert "You joined Acme Corp." in client.get(joined["Location"], follow=True).content.decode()


def test_another_signed_in_user_is_refused(client, sign_in, existing_invitation, org_member):
    membership, path = existing_invitation
    sign_in(org_member)

    for response in (client.get(path), client.post(path)):
        assert response.status_code == 403
        html = response.content.decode()
        assert "This invitation is for another account" in html
        assert "You are signed in as member@acme.test" in html
    assert _status(membership) == Membership.Status.INVITED
    assert _live(membership)
    assert not AuditEvent.objects.filter(action="invitation.accepted").exists()


def test_an_existing_account_signed_in_as_itself_is_never_asked_for_a_password(client, sign_in, existing_invitation):
    membership, path = existing_invitation
    sign_in(membership.user)
    password_before = User.objects.get(pk=membership.user.pk).password

    response = _set(client, path, "attacker-chosen-passphrase", "attacker-chosen-passphrase")

    assert response.status_code == 302
    assert User.objects.get(pk=membership.user.pk).password == password_before
    assert _status(membership) == Membership.Status.ACTIVE


def test_an_account_that_set_its_password_elsewhere_can_no_longer_set_it_by_invitation(
    client, org, other_org, org_admin, other_org_admin,
):
    """Two orgs invite the same new address; after the first link sets the password, the second
    only offers to join."""
    member_invite(org=org, email="dana@example.test", role="member", actor=org_admin)
    first = last_link(recipient="dana@example.test")
    second_membership = member_invite(org=other_org, email="dana@example.test", role="member",
                                      actor=other_org_admin)
    second = last_link(recipient="dana@example.test")
    _set(client, first)

    response = _set(Client(), second, "attacker-chosen-passphrase", "attacker-chosen-passphrase")

    assert response.status_code == 200
    assert "Sign in to accept" in response.content.decode()
    assert User.objects.get(email="dana@example.test").check_password(NEW_PASSWORD)
    assert _status(second_membership) == Membership.Status.INVITED


def test_the_invitation_page_is_not_cached(client, new_invitation):
    _, path = new_invitation

    assert "no-store" in client.get(path)["Cache-Control"]
