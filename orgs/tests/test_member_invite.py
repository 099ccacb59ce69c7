"""member_invite and invitation_resend: who gets an account, which link, which email, which audit rows."""

import hashlib
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent
from config.exceptions import AlreadyExists, DomainError, NotAllowed
from directory.models import GroupMembership, User
from directory.tests.factories import DEFAULT_PASSWORD, GroupFactory, MembershipFactory, UserFactory
from emailqueue.models import OutboundEmail
from emailqueue.redaction import ONE_TIME_LINK_PREFIXES, REDACTED, redact_one_time_links
from identity.models import OneTimeToken
from identity.tests.link_support import last_link, link_in, outbox
from identity.tokens import PATH_PREFIXES
from orgs.models import Membership
from orgs.services import invitation_resend, member_invite

pytestmark = pytest.mark.django_db


def test_the_link_prefixes_are_the_ones_the_console_redacts():
    assert set(PATH_PREFIXES.values()) == set(ONE_TIME_LINK_PREFIXES)


def test_inviting_a_new_address_creates_an_account_without_password_and_emails_a_link(org, org_admin):
    membership = member_invite(org=org, email="Dana@Example.TEST", role="admin", actor=org_admin)

    user = membership.user
    assert user.email == "Dana@example.test"
    assert not user.has_usable_password()
    assert not user.email_verified
    assert (membership.org, membership.role, membership.status) == (org, "admin", Membership.Status.INVITED)
    [email] = outbox()
    assert (email.recipient, email.org, email.kind) == ("Dana@example.test", org, "invitation")
    assert email.subject == "You are invited to join Acme Corp"
    assert "you will choose a password" in email.body_text
    assert email.body_text.count(org_admin.display_name) == 1
    path = link_in(email)
    assert path.startswith("/invitation/")
    token = OneTimeToken.objects.get()
    raw = path.rsplit("/", 1)[1]
    # Only the hash is stored.
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(OneTimeToken.objects.values().get())
    assert (token.purpose, token.user, token.membership) == ("invitation", user, membership)
    assert abs(token.expires_at - (timezone.now() + timedelta(hours=72))) < timedelta(minutes=1)
    event = AuditEvent.objects.get(action="invitation.sent")
    assert (event.actor, event.org, event.target_id) == (org_admin, org, str(membership.pk))
    # Nothing in this org's audit says the account is new (issue #10); the platform's user.created does.
    assert "new_account" not in event.metadata
    assert event.metadata["role"] == "admin"
    assert AuditEvent.objects.filter(action="user.created", actor=org_admin).count() == 1
    assert AuditEvent.objects.filter(action="membership.created", org=org).count() == 1


def test_the_console_sees_the_invitation_with_its_link_redacted(org, org_admin):
    member_invite(org=org, email="dana@example.test", role="member", actor=org_admin)

    email = OutboundEmail.objects.get()
    raw = link_in(email).rsplit("/", 1)[1]
    for body in (email.body_text, email.body_html):
        redacted = redact_one_time_links(body)
        assert raw not in redacted
        assert REDACTED in redacted


def test_inviting_an_existing_account_only_adds_an_invited_membership(org, org_admin, other_org):
    someone = MembershipFactory(org=other_org, user=UserFactory(email="sam@example.test")).user
    password_before = someone.password

    membership = member_invite(org=org, email="SAM@example.test", role="member", actor=org_admin)

    assert membership.user == someone
    assert membership.status == Membership.Status.INVITED
    someone.refresh_from_db()
    assert someone.password == password_before
    assert User.objects.filter(email__iexact="sam@example.test").count() == 1
    email = OutboundEmail.objects.get()
    assert email.recipient == "sam@example.test"
    # The same words as for a new address: the org's email queue shows this message (issue #10).
    assert "already have an account" not in email.body_text
    assert "you will choose a password" in email.body_text
    assert "sign in with it and your password stays as it is" in email.body_text
    assert "new_account" not in AuditEvent.objects.get(action="invitation.sent").metadata
    assert not AuditEvent.objects.filter(action="user.created").exists()


def test_groups_of_the_org_are_joined(org, org_admin, group):
    membership = member_invite(org=org, email="dana@example.test", role="member", actor=org_admin, groups=[group])

    assert GroupMembership.objects.filter(group=group, user=membership.user).exists()
    assert AuditEvent.objects.get(action="invitation.sent").metadata["groups"] == ["engineering"]


def test_the_invitation_names_the_groups_instead_of_a_notice_per_group(org, org_admin, group):
    member_invite(org=org, email="dana@example.test", role="member", actor=org_admin, groups=[group])

    mails = OutboundEmail.objects.filter(recipient="dana@example.test")
    assert [mail.kind for mail in mails] == ["invitation"]
    assert f"You will be in these groups: {group.name}" in mails[0].body_text
    assert f"You will be in these groups: {group.name}" in mails[0].body_html


def test_an_invitation_without_groups_names_none(org, org_admin):
    member_invite(org=org, email="dana@example.test", role="member", actor=org_admin)
    assert "groups" not in OutboundEmail.objects.get(recipient="dana@example.test").body_text


@pytest.mark.parametrize(("setup", "kwargs", "error", "message"), [
    ("member", {"email": "member@acme.test"}, AlreadyExists, "already a member of Acme Corp"),
    ("invited", {"email": "member@acme.test"}, AlreadyExists, "resend the invitation instead"),
    (None, {"role": "boss"}, DomainError, "Unknown role “boss”"),
    (None, {"email": "not-an-email"}, DomainError, "is not a valid email address"),
    ("foreign group", {}, DomainError, "Every group must belong to this organization."),
])
def test_refusals_write_nothing(org, other_org, org_admin, operator, setup, kwargs, error, message):
    groups = ()
    if setup in ("member", "invited"):
        status = Membership.Status.ACTIVE if setup == "member" else Membership.Status.INVITED
        MembershipFactory(org=org, user=UserFactory(email="member@acme.test"), status=status)
    if setup == "foreign group":
        groups = [GroupFactory(org=other_org)]
    users, memberships, events = User.objects.count(), Membership.objects.count(), AuditEvent.objects.count()
    arguments = {"org": org, "email": "dana@example.test", "role": "member", "actor": org_admin, "groups": groups,
                 **kwargs}

    with pytest.raises(error, match=message):
        member_invite(**arguments)

    assert (User.objects.count(), Membership.objects.count(), AuditEvent.objects.count()) == (users, memberships,
                                                                                              events)
    assert not OutboundEmail.objects.exists()
    assert not OneTimeToken.objects.exists()


def test_the_lifetime_comes_from_the_setting(org, org_admin, settings):
    settings.GATEHOUSE_INVITATION_HOURS = 24

    member_invite(org=org, email="dana@example.test", role="member", actor=org_admin)

    token = OneTimeToken.objects.get()
    assert abs(token.expires_at - (timezone.now() + timedelta(hours=24))) < timedelta(minutes=1)
    assert "expires in 24 hours" in OutboundEmail.objects.get().body_text


def test_resending_voids_the_previous_link_and_sends_a_new_one(org, org_admin):
    membership = member_invite(org=org, email="dana@example.test", role="member", actor=org_admin)
    first = OneTimeToken.objects.get()

    invitation_resend(membership=membership, actor=org_admin)

    first.refresh_from_db()
    assert first.voided_at is not None
    live = OneTimeToken.objects.live()
    assert live.count() == 1
    assert live.get().pk != first.pk
    first_link, second_link = (link_in(email) for email in outbox())
    assert first_link != second_link
    event = AuditEvent.objects.get(action="invitation.resent")
    assert (event.actor, event.org, event.target_id) == (org_admin, org, str(membership.pk))


def test_resending_leaves_other_orgs_invitations_alone(org, other_org, org_admin, other_org_admin):
    ours = member_invite(org=org, email="dana@example.test", role="member", actor=org_admin)
    member_invite(org=other_org, email="dana@example.test", role="member", actor=other_org_admin)

    invitation_resend(membership=ours, actor=org_admin)

    assert OneTimeToken.objects.live().filter(membership__org=other_org).count() == 1
    assert OneTimeToken.objects.live().filter(membership__org=org).count() == 1


def test_an_accepted_invitation_cannot_be_resent(org, org_admin, org_member):
    membership = Membership.objects.get(user=org_member)

    with pytest.raises(NotAllowed, match="already accepted"):
        invitation_resend(membership=membership, actor=org_admin)
    assert not OutboundEmail.objects.exists()


# --- manage.py create_user --org, without a password ----------------------------------------------


def test_create_user_with_an_org_and_no_password_sends_the_invitation(org, client):
    out = io.StringIO()
    call_command("create_user", "dana@example.test", "--org", "acme", "--role", "admin", "--name", "Dana",
                 stdout=out)

    membership = Membership.objects.get(user__email="dana@example.test")
    assert (membership.status, membership.role, membership.user.full_name) == ("invited", "admin", "Dana")
    assert "Invited to acme as admin" in out.getvalue()
    assert "valid for 72 hours" in out.getvalue()
    email = OutboundEmail.objects.get()
    assert email.recipient == "dana@example.test"
    event = AuditEvent.objects.get(action="invitation.sent")
    assert event.actor is None
    # The emailed link works: it sets the password, and the account then signs in.
    path = last_link(recipient="dana@example.test")
    response = client.post(path, {"new_password1": "a-long-enough-passphrase",
                                  "new_password2": "a-long-enough-passphrase"})
    assert response.status_code == 302
    response = client.post("/login", {"email": "dana@example.test", "password": "a-long-enough-passphrase"})
    assert response.status_code == 302


def test_create_user_refuses_a_taken_email_with_org_and_no_password(org, org_member):
    with pytest.raises(Exception, match="already exists"):
        call_command("create_user", "MEMBER@acme.test", "--org", "acme", stdout=io.StringIO())
    assert not OutboundEmail.objects.exists()
    assert Membership.objects.filter(user=org_member).count() == 1


def test_create_user_with_a_password_and_an_org_sends_no_invitation(org):
    call_command("create_user", "dana@example.test", "--org", "acme", "--password", DEFAULT_PASSWORD,
                 stdout=io.StringIO())

    assert Membership.objects.get(user__email="dana@example.test").status == "active"
    # No invitation: only the link that verifies the address (a password typed by an operator proves no mailbox).
    assert list(OutboundEmail.objects.values_list("recipient", "kind")) == [("dana@example.test", "email_verification")]
