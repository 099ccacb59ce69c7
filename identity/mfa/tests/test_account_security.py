"""/account/security/: adding an authenticator app (QR as SVG, setup key), removing one, recovery codes."""

import base64
import re
from datetime import timedelta

import pyotp
import pytest
from django.utils import timezone

from audit.models import AuditEvent
from directory.tests.factories import DEFAULT_PASSWORD
from emailqueue.models import OutboundEmail
from identity.mfa.models import RecoveryCodeSet, TotpDevice
from identity.mfa.tests.support import enrol_totp
from orgs.models import Organization

pytestmark = pytest.mark.django_db


def _setup_key(page: str) -> str:
    return re.search(r'id="totp-setup-key">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")


def test_the_page_needs_a_sign_in(client):
    assert client.get("/account/security/")["Location"].startswith("/login?next=/account/security/")


def test_the_page_lists_apps_and_codes_left_and_embeds_the_passkey_section(client, sign_in, org_member):
    enrol_totp(org_member, name="Work phone")
    sign_in(org_member)
    client.post("/account/security/recovery-codes")

    page = client.get("/account/security/").content.decode()

    assert "Work phone" in page
    assert "10 of 10 recovery codes left." in page
    assert "Passkeys" in page or "passkey" in page.lower()


def test_adding_an_authenticator_app(client, sign_in, org_member, django_capture_on_commit_callbacks):
    sign_in(org_member)
    page = client.get("/account/security/authenticator/add").content.decode()
    assert '<svg width="' in page  # the QR code, drawn here: no image from elsewhere, no script
    key = _setup_key(page)

    response = client.post("/account/security/authenticator/add", {"code": pyotp.TOTP(key).now(), "name": "Phone"})

    assert response.status_code == 200  # the recovery codes of a first factor, shown once
    codes = re.findall(r"<li><code>([A-Z0-9-]+)</code></li>", response.content.decode())
    assert len(codes) == 10
    assert "data:text/plain;charset=utf-8," in response.content.decode()
    device = TotpDevice.objects.get(user=org_member, confirmed=True)
    assert device.name == "Phone"
    assert AuditEvent.objects.filter(action="mfa.totp_added", actor=org_member).count() == 1
    assert OutboundEmail.objects.get(kind="mfa_factor_added").recipient == org_member.email
    # A second app: no new codes.
    page = client.get("/account/security/authenticator/add").content.decode()
    second = client.post("/account/security/authenticator/add",
                         {"code": pyotp.TOTP(_setup_key(page)).now(), "name": "Tablet"})
    assert second.status_code == 302
    assert RecoveryCodeSet.objects.filter(user=org_member).count() == 1


def test_a_wrong_code_leaves_the_app_pending(client, sign_in, org_member):
    sign_in(org_member)
    client.get("/account/security/authenticator/add")

    response = client.post("/account/security/authenticator/add", {"code": "12345x", "name": "Phone"})

    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    assert not TotpDevice.objects.filter(user=org_member, confirmed=True).exists()


def test_a_too_long_name_is_a_field_error(client, sign_in, org_member):
    sign_in(org_member)
    page = client.get("/account/security/authenticator/add").content.decode()

    response = client.post("/account/security/authenticator/add",
                           {"code": pyotp.TOTP(_setup_key(page)).now(), "name": "x" * 65})

    assert response.status_code == 400
    assert not TotpDevice.objects.filter(user=org_member, confirmed=True).exists()


def test_confirming_without_a_pending_enrolment_starts_again(client, sign_in, org_member):
    sign_in(org_member)

    response = client.post("/account/security/authenticator/add", {"code": "123456"}, follow=True)

    assert "That setup had expired" in response.content.decode()
    assert not TotpDevice.objects.filter(user=org_member, confirmed=True).exists()


def test_a_secret_shown_to_another_session_cannot_be_confirmed_here(client, sign_in, org_member):
    sign_in(org_member)
    client.get("/account/security/authenticator/add")
    other = TotpDevice.with_new_key(user=org_member, name="")
    other.save()  # started elsewhere (e.g. by someone at the sign-in enrolment step)

    client.post("/account/security/authenticator/add",
                {"code": pyotp.TOTP(base64.b32encode(other.bin_key).decode()).now()})

    assert not TotpDevice.objects.filter(pk=other.pk, confirmed=True).exists()


def test_removing_an_app_asks_for_the_password(client, sign_in, org_member):
    device, _ = enrol_totp(org_member)
    sign_in(org_member)
    url = f"/account/security/authenticator/{device.pk}/remove"

    wrong = client.post(url, {"password": "not-it"})
    assert wrong.status_code == 400
    assert "That is not your password." in wrong.content.decode()
    assert TotpDevice.objects.filter(pk=device.pk).exists()

    right = client.post(url, {"password": DEFAULT_PASSWORD})
    assert right.status_code == 302
    assert not TotpDevice.objects.filter(pk=device.pk).exists()
    assert AuditEvent.objects.filter(action="mfa.totp_removed").count() == 1


def test_removing_the_last_factor_while_a_policy_requires_one_is_refused(client, sign_in, org, org_admin):
    Organization.objects.filter(pk=org.pk).update(mfa_policy="console_roles")
    device, _ = enrol_totp(org_admin)
    sign_in(org_admin)
    url = f"/account/security/authenticator/{device.pk}/remove"

    page = client.get(url).content.decode()
    response = client.post(url, {"password": DEFAULT_PASSWORD})

    assert "Acme Corp requires a second factor, and this is your last one." in page
    assert response.status_code == 409
    assert "Acme Corp requires a second factor" in response.content.decode()
    assert TotpDevice.objects.filter(pk=device.pk).exists()
    assert not AuditEvent.objects.filter(action="mfa.totp_removed").exists()


def test_removing_one_of_two_while_a_policy_requires_one_is_allowed(client, sign_in, org, org_admin):
    Organization.objects.filter(pk=org.pk).update(mfa_policy="console_roles")
    device, _ = enrol_totp(org_admin)
    enrol_totp(org_admin, name="Spare")
    sign_in(org_admin)

    assert client.post(f"/account/security/authenticator/{device.pk}/remove",
                       {"password": DEFAULT_PASSWORD}).status_code == 302


def test_removing_the_last_factor_removes_the_recovery_codes(client, sign_in, org_member):
    device, _ = enrol_totp(org_member)
    sign_in(org_member)
    client.post("/account/security/recovery-codes")

    client.post(f"/account/security/authenticator/{device.pk}/remove", {"password": DEFAULT_PASSWORD})

    assert not RecoveryCodeSet.objects.filter(user=org_member).exists()


def test_another_users_app_is_a_404(client, sign_in, org_member, other_org_admin):
    theirs, _ = enrol_totp(other_org_admin)
    sign_in(org_member)

    assert client.get(f"/account/security/authenticator/{theirs.pk}/remove").status_code == 404
    assert client.post(f"/account/security/authenticator/{theirs.pk}/remove",
                       {"password": DEFAULT_PASSWORD}).status_code == 404
    assert client.get("/account/security/authenticator/999999/remove").status_code == 404
    assert TotpDevice.objects.filter(pk=theirs.pk).exists()


def test_new_recovery_codes_are_shown_once_and_a_get_shows_none(client, sign_in, org_member):
    enrol_totp(org_member)
    sign_in(org_member)

    made = client.post("/account/security/recovery-codes")
    again = client.get("/account/security/recovery-codes")

    assert made.status_code == 200
    assert len(re.findall(r"<li><code>", made.content.decode())) == 10
    assert again.status_code == 302
    assert AuditEvent.objects.filter(action="mfa.recovery_codes_generated").count() == 1


def test_recovery_codes_without_a_factor_are_refused(client, sign_in, org_member):
    sign_in(org_member)

    response = client.post("/account/security/recovery-codes", follow=True)

    assert "Set up an authenticator app or a passkey first" in response.content.decode()
    assert not RecoveryCodeSet.objects.filter(user=org_member).exists()


def test_a_member_the_policy_covers_without_a_factor_is_told_by_when(client, sign_in, org, org_member):
    Organization.objects.filter(pk=org.pk).update(mfa_policy="everyone", mfa_grace_days=7,
                                                  mfa_required_since=timezone.now())
    sign_in(org_member)

    page = client.get("/account/security/").content.decode()

    assert "Acme Corp requires two-step verification." in page
    assert "Set it up by" in page


def test_removing_an_app_with_a_code_instead_of_the_password(client, sign_in, org_member):
    device, totp = enrol_totp(org_member)
    sign_in(org_member)
    url = f"/account/security/authenticator/{device.pk}/remove"

    nothing = client.post(url, {})
    wrong = client.post(url, {"code": "12"})
    too_soon = client.post(url, {"code": totp.now()})  # django-otp's pause after a wrong code
    TotpDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=timezone.now() - timedelta(hours=1))
    right = client.post(url, {"code": totp.now()})

    assert nothing.status_code == 400
    assert "Enter your password, or a code from one of your authenticator apps." in nothing.content.decode()
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.content.decode()
    assert too_soon.status_code == 429
    assert right.status_code == 302
    assert not TotpDevice.objects.filter(pk=device.pk).exists()
