"""Renaming and removing passkeys from /account/security/: only your own, audited, and never the last
factor an organization's MFA policy needs."""

import pytest

from audit.models import AuditEvent
from directory.tests.factories import DEFAULT_PASSWORD
from emailqueue.models import OutboundEmail
from identity.mfa.models import RecoveryCodeSet
from identity.mfa.services import recovery_codes_generate
from identity.passkeys.models import Passkey
from identity.passkeys.tests.authenticator import SoftAuthenticator
from identity.passkeys.tests.support import ISSUER, register

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_client(sign_in, org_member):
    return sign_in(org_member)


@pytest.fixture
def laptop(member_client, org_member, authenticator) -> Passkey:
    assert register(member_client, authenticator, name="Laptop").status_code == 201
    return Passkey.objects.get(user=org_member)


def _page(client) -> str:
    return client.get("/account/security/").content.decode()


def test_the_security_page_lists_each_passkey_with_its_times_and_sync_state(member_client, laptop):
    page = _page(member_client)

    assert "Laptop" in page
    assert f"{laptop.created_at.day} {laptop.created_at:%b %Y, %H:%M} UTC" in page
    assert "Never" in page  # not used to sign in yet
    assert "No, this device only" in page
    assert "Rename Laptop" in page
    assert "Remove Laptop" in page


def test_rename(member_client, org_member, laptop):
    response = member_client.post(f"/passkeys/{laptop.pk}/rename", {"name": "Old laptop", "next": "/account/security/"})

    assert response.status_code == 302
    assert response["Location"] == "/account/security/"
    laptop.refresh_from_db()
    assert laptop.name == "Old laptop"
    event = AuditEvent.objects.get(action="passkey.renamed")
    assert event.actor == org_member
    assert event.metadata["before"] == {"name": "Laptop"}
    assert event.metadata["after"] == {"name": "Old laptop"}
    assert "is now called “Old laptop”" in _page(member_client)


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_bad_name_changes_nothing(member_client, laptop, name):
    response = member_client.post(f"/passkeys/{laptop.pk}/rename", {"name": name}, follow=True)

    assert response.status_code == 200
    laptop.refresh_from_db()
    assert laptop.name == "Laptop"
    assert not AuditEvent.objects.filter(action="passkey.renamed").exists()
    body = response.content.decode()
    assert "Give the passkey a name." in body or "at most 100 characters" in body


def test_remove_with_the_password(member_client, org_member, laptop):
    response = member_client.post(f"/passkeys/{laptop.pk}/remove",
                                  {"password": DEFAULT_PASSWORD, "next": "/account/security/"}, follow=True)

    assert response.status_code == 200
    assert not Passkey.objects.filter(pk=laptop.pk).exists()
    assert "Passkey “Laptop” removed" in response.content.decode()
    event = AuditEvent.objects.get(action="passkey.removed")
    assert event.actor == org_member
    assert event.metadata == {"passkey": laptop.pk, "name": "Laptop"}


@pytest.mark.parametrize("password", ["", "not-my-password"])
def test_remove_without_the_right_password_changes_nothing(member_client, laptop, password):
    response = member_client.post(f"/passkeys/{laptop.pk}/remove", {"password": password}, follow=True)

    assert Passkey.objects.filter(pk=laptop.pk).exists()
    assert "That is not your password, so the passkey “Laptop” was not removed." in response.content.decode()
    assert not AuditEvent.objects.filter(action="passkey.removed").exists()


def test_password_guesses_on_remove_are_throttled_with_the_accounts_other_forms(member_client, laptop, monkeypatch):
    monkeypatch.setattr("identity.passkeys.views.CURRENT_PASSWORD_LIMIT", (2, 3600))
    for _attempt in range(2):
        member_client.post(f"/passkeys/{laptop.pk}/remove", {"password": "guess"})

    response = member_client.post(f"/passkeys/{laptop.pk}/remove", {"password": DEFAULT_PASSWORD})

    assert response.status_code == 429
    assert response["Retry-After"]
    assert Passkey.objects.filter(pk=laptop.pk).exists()


def test_removing_the_last_factor_takes_the_recovery_codes_with_it(member_client, org_member, laptop):
    recovery_codes_generate(user=org_member)

    member_client.post(f"/passkeys/{laptop.pk}/remove", {"password": DEFAULT_PASSWORD})

    assert not Passkey.objects.filter(pk=laptop.pk).exists()
    assert not RecoveryCodeSet.objects.filter(user=org_member).exists()


def test_the_owner_is_told_by_email_when_a_passkey_is_added(org_member, laptop):
    mail = OutboundEmail.objects.get(kind="passkey_added")
    assert mail.recipient == org_member.email
    assert "a passkey was added to your account" in mail.subject
    assert "The passkey “Laptop” was added to the account member@acme.test" in mail.body_text
    assert "/account/security/" in mail.body_text


def test_another_accounts_passkey_is_a_404(client, sign_in, laptop, other_org_admin):
    intruder = sign_in(other_org_admin)

    assert intruder.post(f"/passkeys/{laptop.pk}/rename", {"name": "Mine"}).status_code == 404
    assert intruder.post(f"/passkeys/{laptop.pk}/remove", {"password": DEFAULT_PASSWORD}).status_code == 404
    laptop.refresh_from_db()
    assert laptop.name == "Laptop"
    assert not AuditEvent.objects.filter(action__in=["passkey.renamed", "passkey.removed"]).exists()


def test_an_unknown_id_is_a_404(member_client):
    assert member_client.post("/passkeys/999999/remove", {"password": DEFAULT_PASSWORD}).status_code == 404
    assert member_client.post("/passkeys/999999/rename", {"name": "x"}).status_code == 404


def test_signed_out_is_sent_to_sign_in(client, laptop):
    client.logout()
    response = client.post(f"/passkeys/{laptop.pk}/remove")
    assert response.status_code == 302
    assert response["Location"].startswith("/login")
    assert Passkey.objects.filter(pk=laptop.pk).exists()


def test_an_off_site_next_goes_back_to_the_security_page(member_client, laptop):
    response = member_client.post(f"/passkeys/{laptop.pk}/rename", {"name": "New", "next": "https://evil.example/"})
    assert response["Location"] == "/account/security/"


def test_the_last_factor_is_kept_when_the_org_requires_mfa(member_client, org, laptop):
    org.mfa_policy = "everyone"
    org.save()

    response = member_client.post(f"/passkeys/{laptop.pk}/remove",
                                  {"password": DEFAULT_PASSWORD, "next": "/account/security/"}, follow=True)

    assert Passkey.objects.filter(pk=laptop.pk).exists()
    assert "Acme Corp requires a second factor, and this is your last one." in response.content.decode()
    assert not AuditEvent.objects.filter(action="passkey.removed").exists()


def test_with_another_passkey_left_the_org_policy_allows_removing_one(member_client, org, laptop):
    org.mfa_policy = "everyone"
    org.save()
    assert register(member_client, SoftAuthenticator(origin=ISSUER, rp_id="localhost"), name="Key").status_code == 201

    member_client.post(f"/passkeys/{laptop.pk}/remove", {"password": DEFAULT_PASSWORD})

    assert list(Passkey.objects.values_list("name", flat=True)) == ["Key"]


def test_get_on_the_write_endpoints_is_refused(member_client, laptop):
    assert member_client.get(f"/passkeys/{laptop.pk}/remove").status_code == 405
    assert Passkey.objects.filter(pk=laptop.pk).exists()
