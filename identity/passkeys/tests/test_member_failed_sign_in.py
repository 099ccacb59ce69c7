"""A refused passkey of a known account is that account's failed sign-in: each of its active orgs sees it."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent
from directory.tests.factories import MembershipFactory, UserFactory
from identity.models import UserSession
from identity.passkeys.tests.support import register, sign_in
from orgs.dashboard import org_dashboard

pytestmark = pytest.mark.django_db


def test_a_refused_passkey_counts_in_its_accounts_orgs_and_no_other(client, sign_in_fixture, org, other_org,
                                                                      authenticator):
    member = MembershipFactory(org=org, role="member", user=UserFactory(email="bob@acme.test")).user
    signed_in = sign_in_fixture(member)
    assert register(signed_in, authenticator, name="Laptop").status_code == 201
    signed_in.logout()
    UserSession.objects.filter(user=member).update(ended_at=timezone.now())

    response = sign_in(client, authenticator, origin="http://evil.example")

    assert response.status_code == 400
    original = AuditEvent.objects.get(action="login.failed")
    assert (original.org_id, original.target_id) == (None, str(member.pk))
    copy = AuditEvent.objects.get(action="login.member_failed")
    assert (copy.org_id, copy.target_id, copy.metadata["method"]) == (org.pk, str(member.pk), "passkey")
    assert org_dashboard(org=org).activity.total_failed_sign_ins == 1
    assert org_dashboard(org=other_org).activity.total_failed_sign_ins == 0
    call_command("audit_verify")


@pytest.fixture
def sign_in_fixture(sign_in):
    return sign_in
