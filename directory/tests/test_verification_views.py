"""The console's "Resend verification email": shown for an unverified address, sends the link to the outbox
with an audit row, at most once a minute per member, and only where the org may act on the account."""

from datetime import timedelta

import pytest
from django.test import Client

from audit.models import AuditEvent
from directory.models import User
from directory.tests.factories import MembershipFactory, UserFactory
from emailqueue.models import OutboundEmail
from identity.models import OneTimeToken
from orgs.models import Membership

pytestmark = pytest.mark.django_db

BUTTON = "Resend verification email"


def send_url(org, user) -> str:
    return f"/console/{org.slug}/users/{user.pk}/email-verification"


def detail_url(org, user) -> str:
    return f"/console/{org.slug}/users/{user.pk}/"


def verification_mails(user) -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(kind="email_verification", recipient=user.email).order_by("id"))


@pytest.fixture
def dana(org):
    user = UserFactory(email="dana@example.test", email_verified=False)
    MembershipFactory(org=org, role="member", user=user)
    return user


def age_last_link(user, seconds: float) -> None:
    """As if the newest verification link had been sent `seconds` earlier than it was."""
    token = OneTimeToken.objects.filter(purpose="email_verification", user=user).latest("created_at")
    OneTimeToken.objects.filter(pk=token.pk).update(created_at=token.created_at - timedelta(seconds=seconds))


def test_the_button_shows_only_for_an_unverified_address(org_admin_client, org, dana, org_member):
    assert BUTTON in org_admin_client.get(detail_url(org, dana)).content.decode()
    org_member.email_verified = True
    org_member.save(update_fields=["email_verified"])
    assert BUTTON not in org_admin_client.get(detail_url(org, org_member)).content.decode()


def test_it_sends_the_link_to_the_outbox_and_audits(org_admin_client, org, org_admin, dana):
    response = org_admin_client.post(send_url(org, dana), follow=True)
    assert response.redirect_chain == [(detail_url(org, dana), 302)]
    assert "Sent a verification email to dana@example.test" in response.content.decode()
    [email] = verification_mails(dana)
    assert email.subject == "Acme Corp: verify your email address"  # branded as the org it is about
    assert "/account/email/verify/" in email.body_text
    assert OneTimeToken.objects.filter(purpose="email_verification", user=dana).count() == 1
    event = AuditEvent.objects.get(action="email.verification_sent")
    assert (event.actor, event.org, event.target_id) == (org_admin, org, str(dana.pk))


def test_a_second_request_within_the_minute_is_refused_then_allowed_after(org_admin_client, org, dana):
    assert org_admin_client.post(send_url(org, dana)).status_code == 302
    age_last_link(dana, 30)
    refused = org_admin_client.post(send_url(org, dana), follow=True)
    assert "A verification email was sent to dana@example.test moments ago. You can send another in 30 seconds." \
        in refused.content.decode()
    assert len(verification_mails(dana)) == 1
    assert AuditEvent.objects.filter(action="email.verification_sent").count() == 1
    age_last_link(dana, 29)  # 59 s: the minute runs from the last link, whatever the clock's minute
    refused = org_admin_client.post(send_url(org, dana), follow=True)
    assert "You can send another in 1 second." in refused.content.decode()
    age_last_link(dana, 1)
    assert org_admin_client.post(send_url(org, dana)).status_code == 302
    assert len(verification_mails(dana)) == 2


def test_a_verified_address_gets_no_mail_and_does_not_use_up_the_minute(org_admin_client, org, org_member):
    org_member.email_verified = True
    org_member.save(update_fields=["email_verified"])
    response = org_admin_client.post(send_url(org, org_member), follow=True)
    assert "needs no verification email" in response.content.decode()
    assert not verification_mails(org_member)
    assert not AuditEvent.objects.filter(action="email.verification_sent").exists()


def test_someone_who_also_belongs_elsewhere_is_an_operators_matter(org_admin_client, org, other_org, dana):
    MembershipFactory(org=other_org, role="member", user=dana)
    response = org_admin_client.post(send_url(org, dana), follow=True)
    assert "also belongs to another organization; ask a platform operator" in response.content.decode()
    assert not verification_mails(dana)


def test_another_orgs_admin_gets_404(other_org_admin_client, org, other_org, dana):
    assert other_org_admin_client.post(send_url(org, dana)).status_code == 404
    assert other_org_admin_client.post(send_url(other_org, dana)).status_code == 404
    assert not verification_mails(dana)


def test_an_auditor_and_an_admin_on_an_owner_are_403_and_a_suspended_member_is_refused(
        sign_in, org, org_auditor, org_owner, org_admin_client, dana):
    assert sign_in(org_auditor, Client()).post(send_url(org, dana)).status_code == 403
    User.objects.filter(pk=org_owner.pk).update(email_verified=False)
    assert org_admin_client.post(send_url(org, org_owner)).status_code == 403
    Membership.objects.filter(org=org, user=dana).update(status=Membership.Status.SUSPENDED)
    response = org_admin_client.post(send_url(org, dana), follow=True)
    assert "Account actions are available once the membership is active." in response.content.decode()
    assert not OutboundEmail.objects.filter(kind="email_verification").exists()
    assert not AuditEvent.objects.filter(action="email.verification_sent").exists()


def test_get_is_not_allowed(org_admin_client, org, dana):
    assert org_admin_client.get(send_url(org, dana)).status_code == 405
