"""The org MFA policy at sign-in: each level × role, the grace window, refusal after it, operators."""

from datetime import timedelta

import pyotp
import pytest
from django.test import override_settings
from django.utils import timezone

from audit.models import AuditEvent
from directory.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from identity.mfa.selectors import user_mfa_requirement
from identity.mfa.tests.support import (
    code_at,
    enrol_totp,
    post_code,
    post_password,
    shows_second_factor_step,
    signed_in_user_id,
)
from identity.models import UserSession
from orgs.models import Organization

pytestmark = pytest.mark.django_db

ROLES = ["owner", "admin", "auditor", "member"]
# (policy, role) → whether the policy covers that role.
COVERED = {
    ("off", "owner"): False, ("off", "admin"): False, ("off", "auditor"): False, ("off", "member"): False,
    ("console_roles", "owner"): True, ("console_roles", "admin"): True, ("console_roles", "auditor"): True,
    ("console_roles", "member"): False,
    ("everyone", "owner"): True, ("everyone", "admin"): True, ("everyone", "auditor"): True,
    ("everyone", "member"): True,
}


def _org(policy: str, grace_days: int = 0, since_days_ago: int = 0) -> Organization:
    return OrganizationFactory(slug="acme", name="Acme Corp", mfa_policy=policy, mfa_grace_days=grace_days,
                               mfa_required_since=(timezone.now() - timedelta(days=since_days_ago))
                               if policy != "off" else None)


def _member(org, role, joined_days_ago: int = 100):
    return MembershipFactory(org=org, role=role, created_at=timezone.now() - timedelta(days=joined_days_ago),
                             user=UserFactory(email=f"{role}@acme.test")).user


@pytest.mark.parametrize("policy", ["off", "console_roles", "everyone"])
@pytest.mark.parametrize("role", ROLES)
def test_a_member_without_a_factor_is_taken_to_enrolment_exactly_when_the_policy_covers_their_role(
        client, policy, role):
    user = _member(_org(policy), role)

    response = post_password(client, user.email)

    if COVERED[(policy, role)]:
        assert response["Location"] == "/login/enrol"
        assert signed_in_user_id(client) is None
        page = client.get("/login/enrol")
        assert "Acme Corp requires two-step verification" in page.content.decode()
        assert '<svg' in page.content.decode()
    else:
        assert response["Location"] in ("/account/", "/console/")
        assert signed_in_user_id(client) == str(user.pk)


@pytest.mark.parametrize("policy", ["off", "console_roles", "everyone"])
@pytest.mark.parametrize("role", ROLES)
def test_a_member_with_an_authenticator_always_uses_it(client, policy, role):
    user = _member(_org(policy), role)
    _, totp = enrol_totp(user)

    assert shows_second_factor_step(post_password(client, user.email))
    post_code(client, code_at(totp))
    assert UserSession.objects.get(user=user).amr == ["pwd", "otp", "mfa"]


def test_in_the_grace_window_the_member_may_skip_until_its_end(client):
    org = _org("everyone", grace_days=7, since_days_ago=2)
    user = _member(org, "member")
    post_password(client, user.email)

    page = client.get("/login/enrol").content.decode()
    response = client.post("/login/enrol", {"action": "skip"})

    assert "Skip until" in page
    assert response.status_code == 302
    assert signed_in_user_id(client) == str(user.pk)
    assert UserSession.objects.get(user=user).amr == ["pwd"]
    event = AuditEvent.objects.get(action="mfa.enrolment_skipped")
    assert event.metadata["orgs"] == ["Acme Corp"]
    assert event.metadata["grace_ends"].startswith((org.mfa_required_since + timedelta(days=7)).date().isoformat())


def test_the_grace_window_starts_when_the_membership_began_if_that_is_later(client):
    org = _org("everyone", grace_days=7, since_days_ago=60)
    newcomer = _member(org, "member", joined_days_ago=1)

    requirement = user_mfa_requirement(user=newcomer)

    assert requirement.in_grace()
    membership = newcomer.memberships.get()
    assert requirement.grace_ends == membership.created_at + timedelta(days=7)


def test_after_the_grace_window_skipping_is_refused_with_a_clear_page(client):
    user = _member(_org("everyone", grace_days=7, since_days_ago=8), "member")
    post_password(client, user.email)

    page = client.get("/login/enrol").content.decode()
    refused = client.post("/login/enrol", {"action": "skip"})

    assert "Skip until" not in page
    assert "The time to set it up ended on" in page
    assert refused.status_code == 403
    assert "Acme Corp requires two-step verification" in refused.content.decode()
    assert signed_in_user_id(client) is None
    assert not UserSession.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(action="mfa.enrolment_refused").count() == 1


def test_with_no_grace_the_member_must_set_up_at_once(client):
    user = _member(_org("console_roles", grace_days=0), "admin")
    post_password(client, user.email)

    assert "Skip until" not in client.get("/login/enrol").content.decode()
    assert client.post("/login/enrol", {"action": "skip"}).status_code == 403
    assert signed_in_user_id(client) is None


def test_the_strictest_policy_of_the_active_memberships_wins(client):
    lenient = OrganizationFactory(slug="lenient", mfa_policy="off")
    strict = OrganizationFactory(slug="strict", name="Strict", mfa_policy="everyone", mfa_grace_days=0,
                                 mfa_required_since=timezone.now())
    user = UserFactory(email="both@example.test")
    MembershipFactory(org=lenient, user=user, role="owner")
    MembershipFactory(org=strict, user=user, role="member")

    assert post_password(client, user.email)["Location"] == "/login/enrol"


def test_a_suspended_org_or_an_invited_membership_does_not_impose_its_policy(client):
    suspended = OrganizationFactory(slug="gone", mfa_policy="everyone", mfa_grace_days=0,
                                    mfa_required_since=timezone.now(), status="suspended")
    invited = OrganizationFactory(slug="later", mfa_policy="everyone", mfa_grace_days=0,
                                  mfa_required_since=timezone.now())
    home = OrganizationFactory(slug="home")
    user = UserFactory(email="free@example.test")
    MembershipFactory(org=suspended, user=user)
    MembershipFactory(org=invited, user=user, status="invited")
    MembershipFactory(org=home, user=user)

    assert post_password(client, user.email)["Location"] == "/account/"


def test_enrolling_at_sign_in_signs_in_with_mfa_and_shows_recovery_codes_once(client):
    user = _member(_org("everyone"), "member")
    post_password(client, user.email)
    page = client.get("/login/enrol").content.decode()
    setup_key = page.split('id="totp-setup-key">')[1].split("<")[0].replace(" ", "")

    shown = client.post("/login/enrol", {"action": "confirm", "code": pyotp.TOTP(setup_key).now(), "name": "Phone"})
    assert shown.status_code == 200
    assert shown.content.decode().count("<li><code>") == 10
    assert signed_in_user_id(client) is None
    done = client.post("/login/enrol", {"action": "continue"})

    assert done.status_code == 302
    assert signed_in_user_id(client) == str(user.pk)
    assert UserSession.objects.get(user=user).amr == ["pwd", "otp", "mfa"]
    assert AuditEvent.objects.filter(action="mfa.totp_added", target_id=str(user.pk)).count() == 1


def test_a_wrong_code_at_enrolment_keeps_it_pending_and_signs_nobody_in(client):
    user = _member(_org("everyone"), "member")
    post_password(client, user.email)
    client.get("/login/enrol")

    response = client.post("/login/enrol", {"action": "confirm", "code": "000000", "name": "Phone"})

    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    assert signed_in_user_id(client) is None
    assert not user.totpdevice_set.filter(confirmed=True).exists()


def test_enrolment_page_without_a_sign_in_in_progress_starts_again(client):
    assert client.get("/login/enrol")["Location"] == "/login"
    assert client.post("/login/enrol", {"action": "skip"})["Location"] == "/login"


def test_enrolment_confirm_without_a_pending_enrolment_gets_a_new_qr_code(client):
    user = _member(_org("everyone"), "member")
    post_password(client, user.email)

    response = client.post("/login/enrol", {"action": "confirm", "code": "123456"}, follow=True)

    assert "That setup had expired" in response.content.decode()
    assert signed_in_user_id(client) is None


@override_settings(GATEHOUSE_MFA_REQUIRED_FOR_OPERATORS=True)
def test_operators_must_set_up_a_factor_when_the_platform_says_so(client, operator):
    assert post_password(client, operator.email)["Location"] == "/login/enrol"
    assert "Platform operators must use two-step verification" in client.get("/login/enrol").content.decode()
    assert client.post("/login/enrol", {"action": "skip"}).status_code == 403


def test_operators_are_not_covered_by_default(client, operator):
    assert post_password(client, operator.email)["Location"] == "/console/"


# ---------------------------------------------------------------- the console, for a session older than the policy


def test_a_password_session_of_a_covered_admin_with_a_factor_is_stepped_up_at_the_console(client, sign_in):
    user = _member(_org("console_roles", grace_days=7), "admin")
    _, totp = enrol_totp(user)
    sign_in(user)

    response = client.get("/console/acme/")
    back = post_code(client, code_at(totp))

    assert response["Location"] == "/login/verify"
    assert back["Location"] == "/console/acme/"
    assert client.get("/console/acme/").status_code == 200
    assert UserSession.objects.get(user=user).amr == ["pwd", "otp", "mfa"]


def test_a_covered_admin_without_a_factor_uses_the_console_in_grace_and_must_enrol_after(client, sign_in):
    org = _org("console_roles", grace_days=7, since_days_ago=1)
    user = _member(org, "admin")
    sign_in(user)
    assert client.get("/console/acme/").status_code == 200

    Organization.objects.filter(pk=org.pk).update(mfa_required_since=timezone.now() - timedelta(days=8))

    assert client.get("/console/acme/")["Location"] == "/login/enrol"


def test_only_the_orgs_own_policy_gates_its_console(client, sign_in):
    user = _member(_org("off"), "admin")
    strict = OrganizationFactory(slug="strict", mfa_policy="console_roles", mfa_grace_days=0,
                                 mfa_required_since=timezone.now())
    MembershipFactory(org=strict, user=user, role="auditor")
    sign_in(user)

    assert client.get("/console/acme/").status_code == 200
    assert client.get("/console/strict/")["Location"] == "/login/enrol"
