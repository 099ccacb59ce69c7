"""Admins see a member's second factors (kinds and counts, never names or secrets) and reset them: a platform
operator for anyone, an org admin only for someone who belongs to that org alone. Audited, mailed, stepped up."""

from datetime import timedelta
from html import unescape
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from config.exceptions import NotAllowed
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory
from emailqueue.models import OutboundEmail
from identity.mfa.admin_services import user_mfa_reset
from identity.mfa.models import RecoveryCodeSet, TotpDevice
from identity.mfa.services import recovery_codes_generate
from identity.mfa.tests.support import enrol_totp, post_password
from identity.models import UserSession
from identity.passkeys.models import Passkey
from identity.tests.step_up_support import sign_in_age
from orgs.models import Membership, Organization

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(org):
    return MembershipFactory(org=org, role="member", user=UserFactory(email="alice@acme.test")).user


def _passkey(user, n: int) -> Passkey:
    return Passkey.objects.create(user=user, name=f"Key {n}", credential_id=f"credential-{user.pk}-{n}",
                                  public_key=b"public-key")


@pytest.fixture
def alice_factors(alice):
    """Alice with an authenticator app ("Phone"), two passkeys and ten recovery codes."""
    enrol_totp(alice, name="Phone")
    _passkey(alice, 1)
    _passkey(alice, 2)
    return recovery_codes_generate(user=alice)


def url(name, org, user):
    return reverse(f"console:{name}", args=[org.slug, user.pk])


def _factors(user) -> tuple[int, int, int]:
    return (TotpDevice.objects.filter(user=user).count(), Passkey.objects.filter(user=user).count(),
            RecoveryCodeSet.objects.filter(user=user).count())


def _text(response) -> str:
    """The page as a person reads it: entities decoded, runs of white space as one space."""
    return " ".join(unescape(response.content.decode()).split())


# ---------------------------------------------------------------------- what the member page shows


def test_the_member_page_shows_kinds_and_counts_never_names_or_secrets(org_admin_client, org, alice, alice_factors):
    page = _text(org_admin_client.get(url("user-detail", org, alice)))
    assert "1 authenticator app · 2 passkeys · 10 recovery codes left" in page
    assert "Phone" not in page
    assert "Key 1" not in page
    assert "credential-" not in page
    assert not any(code in page for code in alice_factors)
    assert TotpDevice.objects.get(user=alice).encrypted_key not in page
    assert url("user-mfa-reset", org, alice) in page


def test_without_a_factor_the_page_says_not_set_up_and_offers_no_reset(org_admin_client, org, alice):
    page = _text(org_admin_client.get(url("user-detail", org, alice)))
    assert "Not set up" in page
    assert url("user-mfa-reset", org, alice) not in page


def test_a_shared_member_shows_whose_action_a_reset_is(org_admin_client, org, other_org, alice, alice_factors):
    MembershipFactory(org=other_org, user=alice)
    page = _text(org_admin_client.get(url("user-detail", org, alice)))
    assert "1 authenticator app" in page
    assert "Resetting it is a platform operator's action" in page
    assert url("user-mfa-reset", org, alice) not in page


def test_an_auditor_sees_the_counts_but_no_reset(sign_in, org, org_auditor, alice, alice_factors):
    client = sign_in(org_auditor)
    page = _text(client.get(url("user-detail", org, alice)))
    assert "2 passkeys" in page
    assert url("user-mfa-reset", org, alice) not in page
    assert client.get(url("user-mfa-reset", org, alice)).status_code == 403
    assert client.post(url("user-mfa-reset", org, alice)).status_code == 403
    assert _factors(alice) == (1, 2, 1)


# ---------------------------------------------------------------------- resetting


def test_an_org_admin_resets_a_member_of_this_org_alone(org_admin_client, org, org_admin, alice, alice_factors):
    UserSession.objects.create(user=alice, device="Laptop", expires_at=timezone.now() + timedelta(hours=1))
    confirm = _text(org_admin_client.get(url("user-mfa-reset", org, alice)))
    assert "Reset the two-step verification of alice@acme.test?" in confirm
    assert "1 authenticator app is removed." in confirm
    assert "2 passkeys are removed." in confirm
    assert "Their recovery codes stop working (10 were left)." in confirm

    response = org_admin_client.post(url("user-mfa-reset", org, alice), follow=True)

    assert response.redirect_chain[-1][0] == url("user-detail", org, alice)
    assert "Reset the two-step verification of alice@acme.test; they were told by email." in _text(response)
    assert _factors(alice) == (0, 0, 0)
    event = AuditEvent.objects.get(action="mfa.reset")
    assert (event.actor, event.org, event.target_id) == (org_admin, org, str(alice.pk))
    assert event.metadata == {"email": "alice@acme.test", "authenticator_apps": 1, "passkeys": 2,
                              "recovery_codes_left": 10, "by": "org_admin"}
    mail = OutboundEmail.objects.get(recipient="alice@acme.test", kind="mfa_reset")
    assert mail.subject == "Acme Corp: your two-step verification was reset"
    assert "An administrator of Acme Corp reset the two-step verification of alice@acme.test" in mail.body_text
    assert not any(code in mail.body_text for code in alice_factors)
    # Nothing else ends: her session and password stay.
    assert UserSession.objects.live().filter(user=alice).count() == 1
    alice.refresh_from_db()
    assert alice.check_password(DEFAULT_PASSWORD)


def test_after_a_reset_the_policy_asks_for_a_new_factor_at_sign_in(client, org, org_admin, alice, alice_factors):
    org.mfa_policy = Organization.MfaPolicy.EVERYONE
    org.mfa_grace_days = 0
    org.save()
    user_mfa_reset(user=alice, actor=org_admin, org=org)
    response = post_password(client, alice.email)
    assert response["Location"] == "/login/enrol"


def test_an_org_admin_cannot_reset_someone_who_also_belongs_elsewhere(org_admin_client, org, other_org, alice,
                                                                     alice_factors):
    MembershipFactory(org=other_org, user=alice)
    page = _text(org_admin_client.get(url("user-mfa-reset", org, alice)))
    assert "also belongs to another organization" in page
    assert "Reset two-step verification of alice@acme.test" not in page  # no button

    response = org_admin_client.post(url("user-mfa-reset", org, alice), follow=True)

    assert response.redirect_chain[-1][0] == url("user-detail", org, alice)
    assert ("alice@acme.test also belongs to another organization (or is a platform operator), so only a platform "
            "operator can reset their two-step verification.") in _text(response)
    assert _factors(alice) == (1, 2, 1)
    assert not AuditEvent.objects.filter(action="mfa.reset").exists()
    assert not OutboundEmail.objects.filter(kind="mfa_reset").exists()


def test_an_operator_resets_anyone_in_the_platform_log(operator_client, operator, org, other_org, alice,
                                                       alice_factors):
    MembershipFactory(org=other_org, user=alice)
    response = operator_client.post(url("user-mfa-reset", org, alice))
    assert response.status_code == 302
    assert _factors(alice) == (0, 0, 0)
    event = AuditEvent.objects.get(action="mfa.reset", org=None)
    assert (event.actor, event.org, event.metadata["by"]) == (operator, None, "operator")
    # Each org where Alice is an active member gets the event too (its log and webhooks).
    copies = AuditEvent.objects.filter(action="mfa.reset").exclude(org=None)
    assert sorted(copy.org_id for copy in copies) == sorted([org.pk, other_org.pk])
    mail = OutboundEmail.objects.get(kind="mfa_reset")
    assert "A platform operator reset the two-step verification of alice@acme.test" in mail.body_text


def test_another_orgs_admin_gets_404(other_org_admin_client, org, alice, alice_factors):
    assert other_org_admin_client.get(url("user-mfa-reset", org, alice)).status_code == 404
    assert other_org_admin_client.post(url("user-mfa-reset", org, alice)).status_code == 404
    assert _factors(alice) == (1, 2, 1)


def test_another_orgs_member_is_404_in_this_console(org_admin_client, org, other_org):
    stranger = MembershipFactory(org=other_org, user=UserFactory(email="sam@globex.test")).user
    enrol_totp(stranger)
    assert org_admin_client.get(url("user-mfa-reset", org, stranger)).status_code == 404
    assert org_admin_client.post(url("user-mfa-reset", org, stranger)).status_code == 404
    assert _factors(stranger)[0] == 1


def test_an_admin_cannot_reset_an_owner(org_admin_client, org, org_owner):
    enrol_totp(org_owner)
    assert org_admin_client.get(url("user-mfa-reset", org, org_owner)).status_code == 403
    assert org_admin_client.post(url("user-mfa-reset", org, org_owner)).status_code == 403
    assert _factors(org_owner)[0] == 1


def test_nobody_resets_their_own_here(sign_in, org, org_owner):
    enrol_totp(org_owner)
    client = sign_in(org_owner)
    response = client.post(url("user-mfa-reset", org, org_owner), follow=True)
    assert "Reset your own two-step verification from your account's security page." in _text(response)
    assert _factors(org_owner)[0] == 1


def test_an_invited_membership_has_no_account_actions(org_admin_client, org):
    invited = MembershipFactory(org=org, status=Membership.Status.INVITED, user=UserFactory(email="new@acme.test"))
    enrol_totp(invited.user)
    response = org_admin_client.post(url("user-mfa-reset", org, invited.user), follow=True)
    assert "Account actions are available once the membership is active." in _text(response)
    assert _factors(invited.user)[0] == 1


def test_nothing_to_reset_changes_nothing(org_admin_client, org, alice):
    page = _text(org_admin_client.get(url("user-mfa-reset", org, alice)))
    assert "They have no second factor: there is nothing to reset." in page
    response = org_admin_client.post(url("user-mfa-reset", org, alice), follow=True)
    assert "alice@acme.test had no second factor; nothing changed." in _text(response)
    assert not AuditEvent.objects.filter(action="mfa.reset").exists()
    assert not OutboundEmail.objects.filter(kind="mfa_reset").exists()


def test_the_reset_needs_a_recent_authentication(client, sign_in, org, org_admin, alice, alice_factors):
    sign_in(org_admin)
    sign_in_age(client, 11)
    response = client.post(url("user-mfa-reset", org, alice))
    assert response["Location"] == "/account/confirm"
    assert _factors(alice) == (1, 2, 1)
    assert "To reset the member's two-step verification" in _text(client.get("/account/confirm"))


def test_the_service_refuses_outside_its_rule(org, org_admin, alice, alice_factors):
    with pytest.raises(NotAllowed):
        user_mfa_reset(user=alice, actor=org_admin, org=None)  # only operators act outside an org
    with pytest.raises(NotAllowed):
        user_mfa_reset(user=org_admin, actor=org_admin, org=org)
    assert _factors(alice) == (1, 2, 1)


def test_the_counts_leave_out_pending_apps_and_used_codes(org_admin_client, org, alice, alice_factors):
    TotpDevice.with_new_key(user=alice, name="").save()  # an enrolment never confirmed: not a factor
    RecoveryCodeSet.objects.get(user=alice).verify_token(alice_factors[0])
    page = _text(org_admin_client.get(url("user-detail", org, alice)))
    assert "1 authenticator app · 2 passkeys · 9 recovery codes left" in page


# ---------------------------------------------------------------------- manage.py mfa_reset


def test_the_command_resets_anyone_audited_and_mailed(operator, alice_factors, alice):
    enrol_totp(operator)
    out = StringIO()
    call_command("mfa_reset", "OPERATOR@example.com", stdout=out)
    assert out.getvalue().strip() == ("Reset the two-step verification of operator@example.com: removed 1 "
                                      "authenticator apps, 0 passkeys and no recovery codes. They were told by email.")
    assert _factors(operator) == (0, 0, 0)
    assert _factors(alice) == (1, 2, 1)
    event = AuditEvent.objects.get(action="mfa.reset")
    assert (event.actor, event.org, event.metadata["by"]) == (None, None, "command")
    assert OutboundEmail.objects.filter(recipient="operator@example.com", kind="mfa_reset").exists()


def test_the_command_says_when_there_is_nothing_or_nobody(alice):
    out = StringIO()
    call_command("mfa_reset", "alice@acme.test", stdout=out)
    assert out.getvalue().strip() == "alice@acme.test has no second factor; nothing changed."
    assert not AuditEvent.objects.filter(action="mfa.reset").exists()
    with pytest.raises(CommandError, match="No account has the email nobody@acme.test.") as raised:
        call_command("mfa_reset", "nobody@acme.test")
    assert raised.value.returncode == 2
