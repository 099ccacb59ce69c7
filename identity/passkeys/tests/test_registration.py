"""Adding a passkey: the options, the stored credential, and every bad response refused with nothing stored."""

import pytest

from audit.models import AuditEvent
from identity.passkeys import ceremonies
from identity.passkeys.models import Passkey, PasskeyUser
from identity.passkeys.tests.authenticator import SoftAuthenticator
from identity.passkeys.tests.support import ISSUER, post_json, register

pytestmark = pytest.mark.django_db


@pytest.fixture
def member_client(sign_in, org_member):
    return sign_in(org_member)


def test_options_ask_for_a_discoverable_user_verified_passkey_with_a_random_handle(member_client, org_member):
    response = post_json(member_client, "/passkeys/register/options")

    assert response.status_code == 200
    options = response.json()
    assert options["rp"] == {"id": "localhost", "name": "Gatehouse"}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["user"]["name"] == "member@acme.test"
    handle = PasskeyUser.objects.get(user=org_member).handle
    # The user handle is random: neither the pk nor the email.
    assert options["user"]["id"] not in (str(org_member.pk), org_member.email)
    assert len(handle) >= 40
    assert options["excludeCredentials"] == []


def test_registering_stores_the_passkey_and_audits_it(member_client, org_member, authenticator):
    response = register(member_client, authenticator, name="  Work   laptop ")

    assert response.status_code == 201
    passkey = Passkey.objects.get(user=org_member)
    assert response.json()["passkey"] == {"id": passkey.pk, "name": "Work laptop", "synced": False}
    assert passkey.sign_count == 1
    assert passkey.transports == ["internal", "hybrid"]
    assert passkey.aaguid == "00112233-4455-6677-8899-aabbccddeeff"
    assert (passkey.backup_eligible, passkey.backed_up, passkey.amr) == (False, False, "hwk")
    event = AuditEvent.objects.get(action="passkey.registered")
    assert event.actor == org_member
    assert event.metadata["name"] == "Work laptop"
    page = member_client.get("/account/security/")
    assert "Work laptop" in page.content.decode()
    assert "Passkey “Work laptop” added" in page.content.decode()
    # The first factor: recovery codes are offered next (they stand in for a lost passkey).
    assert "Make recovery codes below" in page.content.decode()


def test_a_synced_passkey_is_shown_as_synced(member_client, org_member):
    synced = SoftAuthenticator(origin=ISSUER, rp_id="localhost", synced=True)
    assert register(member_client, synced, name="Phone").status_code == 201

    passkey = Passkey.objects.get(user=org_member)
    assert (passkey.backup_eligible, passkey.backed_up, passkey.amr) == (True, True, "swk")
    assert "Yes, synced across your devices" in member_client.get("/account/security/").content.decode()


def test_several_passkeys_and_the_next_options_exclude_them(member_client, org_member, authenticator):
    second = SoftAuthenticator(origin=ISSUER, rp_id="localhost")
    assert register(member_client, authenticator, name="Laptop").status_code == 201
    assert register(member_client, second, name="Key").status_code == 201

    options = post_json(member_client, "/passkeys/register/options").json()
    excluded = {descriptor["id"] for descriptor in options["excludeCredentials"]}
    assert excluded == set(Passkey.objects.filter(user=org_member).values_list("credential_id", flat=True))
    assert len(excluded) == 2


def test_the_same_authenticator_twice_is_refused(member_client, org_member, authenticator):
    assert register(member_client, authenticator).status_code == 201

    again = register(member_client, authenticator, name="Again")

    assert again.status_code == 409
    assert again.json()["error"] == "duplicate_credential"
    assert "already registered" in again.json()["message"]
    assert list(Passkey.objects.values_list("name", flat=True)) == ["Laptop"]


def test_another_account_cannot_register_a_credential_id_already_registered(client, sign_in, org_member,
                                                                             org_admin, authenticator):
    assert register(sign_in(org_member), authenticator).status_code == 201
    client.logout()

    stolen = register(sign_in(org_admin), authenticator, name="Stolen")

    assert stolen.status_code == 409
    assert not Passkey.objects.filter(user=org_admin).exists()


@pytest.mark.parametrize(("tamper", "code"), [
    ({"origin": "http://evil.example"}, "invalid_response"),
    ({"rp_id": "evil.example"}, "invalid_response"),
    ({"challenge": "AAAAAAAAAAAAAAAAAAAAAA"}, "invalid_response"),
])
def test_a_response_for_another_origin_rp_or_challenge_is_refused(member_client, authenticator, tamper, code):
    response = register(member_client, authenticator, **tamper)

    assert response.status_code == 400
    assert response.json()["error"] == code
    assert Passkey.objects.count() == 0
    assert not AuditEvent.objects.filter(action="passkey.registered").exists()


def test_without_user_verification_it_is_refused(member_client):
    lazy = SoftAuthenticator(origin=ISSUER, rp_id="localhost", user_verified=False)
    response = register(member_client, lazy)

    assert response.status_code == 400
    assert "verif" in response.json()["message"]
    assert Passkey.objects.count() == 0


def test_a_response_is_checked_once(member_client, authenticator):
    options = post_json(member_client, "/passkeys/register/options").json()
    credential = authenticator.create(options)
    first = post_json(member_client, "/passkeys/register/verify", {"credential": credential, "name": "A"})
    Passkey.objects.all().delete()

    replay = post_json(member_client, "/passkeys/register/verify", {"credential": credential, "name": "B"})

    assert first.status_code == 201
    assert replay.status_code == 400
    assert replay.json()["error"] == "challenge_expired"
    assert Passkey.objects.count() == 0


def test_an_expired_challenge_is_refused(member_client, authenticator, monkeypatch):
    options = post_json(member_client, "/passkeys/register/options").json()
    later = ceremonies.time.time() + ceremonies.CHALLENGE_SECONDS + 1
    monkeypatch.setattr(ceremonies.time, "time", lambda: later)

    response = post_json(member_client, "/passkeys/register/verify",
                         {"credential": authenticator.create(options), "name": "Late"})

    assert response.status_code == 400
    assert response.json()["error"] == "challenge_expired"
    assert Passkey.objects.count() == 0


@pytest.mark.parametrize("body", [
    b"not json", b"[]", b'{"credential": "x"}', b'{"credential": {"id": 1}}',
    b'{"credential": {"id": "a", "rawId": "a", "type": "public-key", "response": {"clientDataJSON": "!!",'
    b' "attestationObject": "a"}}}',
    b'{"credential": {"id": "AA", "rawId": "AA", "type": "public-key", "response": {"clientDataJSON": "e30",'
    b' "attestationObject": "oA"}}}',
    "\u00e9t\u00e9".encode("latin-1"),
])
def test_malformed_responses_get_a_clear_error(member_client, body):
    post_json(member_client, "/passkeys/register/options")
    response = member_client.post("/passkeys/register/verify", data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"] in {"malformed_response", "invalid_response"}
    assert response.json()["message"]
    assert Passkey.objects.count() == 0


def test_a_huge_body_is_refused_before_it_is_read(member_client):
    response = member_client.post("/passkeys/register/verify", data=b"{" + b" " * 70_000 + b"}",
                                  content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_a_name_that_is_too_long_is_refused(member_client, authenticator):
    response = register(member_client, authenticator, name="x" * 101)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_name"
    assert Passkey.objects.count() == 0


def test_signed_out_gets_401(client, authenticator):
    assert post_json(client, "/passkeys/register/options").status_code == 401
    assert post_json(client, "/passkeys/register/verify", {"credential": {}}).status_code == 401


def test_get_is_not_allowed(member_client):
    assert member_client.get("/passkeys/register/options").status_code == 405


def test_on_an_ip_address_issuer_options_say_why_passkeys_are_unavailable(member_client, settings):
    settings.GATEHOUSE_ISSUER = "http://127.0.0.1:8000"

    response = post_json(member_client, "/passkeys/register/options")

    assert response.status_code == 409
    assert response.json()["error"] == "passkeys_unavailable"
    assert "host name" in response.json()["message"]
    page = member_client.get("/account/security/").content.decode()
    assert "Passkeys need Gatehouse to be served on a host name" in page
    assert "data-passkey-register" not in page
    sign_in_options = post_json(member_client, "/passkeys/login/options")
    assert sign_in_options.status_code == 409
    assert sign_in_options.json()["error"] == "passkeys_unavailable"
