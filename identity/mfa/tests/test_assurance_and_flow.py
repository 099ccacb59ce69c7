"""methods → amr/acr (identity/mfa/assurance.py), and the steps LoginFlow.remaining_steps decides."""

import pytest
from django.utils import timezone

from identity.flows import LoginFlow
from identity.mfa.assurance import ACR_MFA, ACR_PHR, ACR_PWD, acr_for, acr_requested, acr_satisfies, amr_for
from identity.mfa.models import TotpDevice
from identity.mfa.tests.support import enrol_totp, enrol_with_recovery, post_password
from identity.models import PasswordChangeRequired
from orgs.models import Organization


@pytest.mark.parametrize(("methods", "amr", "acr"), [
    (["pwd"], ["pwd"], ACR_PWD),
    (["pwd", "otp"], ["pwd", "otp", "mfa"], ACR_MFA),
    (["pwd", "hwk"], ["pwd", "hwk", "mfa"], ACR_PHR),
    (["swk"], ["swk", "mfa"], ACR_PHR),
    (["hwk"], ["hwk", "mfa"], ACR_PHR),
    (["otp"], ["otp"], ACR_PWD),  # one factor, whatever its kind
    (["pwd", "otp", "otp"], ["pwd", "otp", "mfa"], ACR_MFA),
    (["pwd", "otp", "mfa"], ["pwd", "otp", "mfa"], ACR_MFA),
])
def test_amr_and_acr_of_each_sign_in(methods, amr, acr):
    assert amr_for(methods) == amr
    assert acr_for(amr_for(methods)) == acr


def test_levels_and_requests():
    assert acr_satisfies(ACR_PHR, ACR_MFA)
    assert acr_satisfies(ACR_MFA, ACR_PWD)
    assert not acr_satisfies(ACR_MFA, ACR_PHR)
    assert acr_requested(f"urn:other {ACR_PHR} {ACR_MFA}") == ACR_MFA  # the weakest known value
    assert acr_requested("urn:other gold") is None
    assert acr_requested("") is None


@pytest.mark.django_db
def test_a_passwordless_passkey_satisfies_a_policy_that_requires_mfa(org, org_member):
    Organization.objects.filter(pk=org.pk).update(mfa_policy="everyone", mfa_grace_days=0,
                                                  mfa_required_since=timezone.now())

    assert LoginFlow(user_id=org_member.pk, methods=["pwd"]).remaining_steps(org_member) == ["mfa_enrol"]
    assert LoginFlow(user_id=org_member.pk, methods=["swk"]).remaining_steps(org_member) == []
    assert LoginFlow(user_id=org_member.pk, methods=["hwk"]).remaining_steps(org_member) == []
    assert LoginFlow(user_id=org_member.pk, methods=[]).remaining_steps(org_member) == ["password"]


@pytest.mark.django_db
def test_the_second_factor_comes_before_a_forced_password_change(org_member):
    PasswordChangeRequired.objects.create(user=org_member)
    enrol_totp(org_member)

    assert LoginFlow(user_id=org_member.pk, methods=["pwd"]).remaining_steps(org_member) == ["mfa"]
    assert LoginFlow(user_id=org_member.pk, methods=["pwd", "otp"]).remaining_steps(org_member) == [
        "password_change"]


@pytest.mark.django_db
def test_the_step_opens_on_the_kind_this_browser_used_last(client, org_member):
    enrol_with_recovery(org_member)
    post_password(client, org_member.email)

    plain = client.get("/login/verify").content.decode()
    client.cookies["gatehouse_mfa_last"] = "recovery"
    remembered = client.get("/login/verify").content.decode()
    chosen = client.get("/login/verify?method=totp").content.decode()

    assert "Code from your authenticator app" in plain
    assert 'name="kind" value="totp"' in plain
    assert "Recovery code" in remembered
    assert 'name="kind" value="recovery"' in remembered
    assert "Code from your authenticator app" in chosen


@pytest.mark.django_db
def test_a_pending_enrolment_is_not_a_factor(client, org_member):
    TotpDevice.with_new_key(user=org_member, name="").save()  # never confirmed

    assert post_password(client, org_member.email)["Location"] == "/account/"
