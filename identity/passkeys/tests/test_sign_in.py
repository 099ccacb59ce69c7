"""Signing in with a passkey: alone (passwordless), or as the second factor after a password; and every
bad assertion (tampered, another origin or RP ID, replayed, unknown, cloned) refused with nothing changed."""

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory
from identity.mfa.tests.support import shows_second_factor_step
from identity.models import UserSession
from identity.passkeys import ceremonies
from identity.passkeys.models import Passkey, PasskeyUser
from identity.passkeys.services import _counter_advance
from identity.passkeys.tests.authenticator import SoftAuthenticator
from identity.passkeys.tests.support import ISSUER, post_json, register, sign_in, sign_in_options

pytestmark = pytest.mark.django_db


@pytest.fixture
def member(org):
    return MembershipFactory(org=org, role="member", user=UserFactory(email="bob@acme.test")).user


@pytest.fixture
def registered(client, sign_in, member, authenticator):
    """bob@acme.test with the authenticator's passkey registered, and the browser signed out again."""
    signed_in = sign_in(member)
    assert register(signed_in, authenticator, name="Laptop").status_code == 201
    _sign_out(signed_in, member)
    return Passkey.objects.get(user=member)


def _sign_out(client, user) -> None:
    """Sign the test client out and close the session row the sign_in fixture made."""
    client.logout()
    UserSession.objects.filter(user=user).update(ended_at=timezone.now())


def _signed_in_user(client):
    return client.get("/account/").wsgi_request.user


def test_options_let_the_authenticator_offer_any_passkey_and_require_user_verification(client):
    options = sign_in_options(client)

    assert options["rpId"] == "localhost"
    assert options["userVerification"] == "required"
    assert options.get("allowCredentials", []) == []


def test_passwordless_sign_in_lands_signed_in_with_hwk_and_mfa(client, member, registered, authenticator):
    response = sign_in(client, authenticator)

    assert response.status_code == 200
    assert response.json() == {"redirect": "/account/"}
    session = UserSession.objects.get(user=member, ended_at__isnull=True)
    assert session.amr == ["hwk", "mfa"]
    event = AuditEvent.objects.filter(action="login.succeeded").latest("pk")
    assert event.target_id == str(member.pk)
    assert "hwk" in event.metadata["amr"]
    registered.refresh_from_db()
    assert registered.sign_count == 2
    assert registered.last_used_at is not None


def test_a_synced_passkey_signs_in_as_swk(client, sign_in, member):
    synced = SoftAuthenticator(origin=ISSUER, rp_id="localhost", synced=True)
    assert register(sign_in(member), synced).status_code == 201
    _sign_out(client, member)

    assert sign_in_response_ok(client, synced)
    assert "swk" in UserSession.objects.filter(user=member).latest("pk").amr


def sign_in_response_ok(client, authenticator) -> bool:
    return sign_in(client, authenticator).status_code == 200


def test_passwordless_keeps_a_safe_next(client, registered, authenticator):
    options = sign_in_options(client)
    response = post_json(client, "/passkeys/login/verify",
                         {"credential": authenticator.get(options), "next": "/account/password"})
    assert response.json() == {"redirect": "/account/password"}


def test_an_off_site_next_is_dropped(client, registered, authenticator):
    options = sign_in_options(client)
    response = post_json(client, "/passkeys/login/verify",
                         {"credential": authenticator.get(options), "next": "https://evil.example/"})
    assert response.json() == {"redirect": "/account/"}


def _refused(response, code: str, member, passkey: Passkey, status: int = 400) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"] == code
    assert response.json()["message"]
    assert not UserSession.objects.filter(user=member, ended_at__isnull=True).exists()
    before = passkey.sign_count
    passkey.refresh_from_db()
    assert passkey.sign_count == before
    assert passkey.last_used_at is None


@pytest.mark.parametrize(("tamper", "code"), [
    ({"origin": "http://evil.example"}, "invalid_response"),
    ({"origin": "https://localhost:8000"}, "invalid_response"),
    ({"rp_id": "evil.example"}, "invalid_response"),
    ({"kind": "webauthn.create"}, "invalid_response"),
    ({"challenge": "AAAAAAAAAAAAAAAAAAAAAA"}, "invalid_response"),
])
def test_a_bad_assertion_is_refused_and_audited(client, member, registered, authenticator, tamper, code):
    response = sign_in(client, authenticator, **tamper)

    _refused(response, code, member, registered)
    failed = AuditEvent.objects.get(action="login.failed")
    assert failed.metadata["method"] == "passkey"
    assert failed.metadata["reason"] == code


def test_tampered_client_data_breaks_the_signature(client, member, registered, authenticator):
    from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

    options = sign_in_options(client)
    credential = authenticator.get(options)
    client_data = base64url_to_bytes(credential["response"]["clientDataJSON"])
    # Same challenge and origin, one byte more: the signature no longer covers it.
    credential["response"]["clientDataJSON"] = bytes_to_base64url(client_data[:-1] + b', "x": 1}')

    response = post_json(client, "/passkeys/login/verify", {"credential": credential})

    _refused(response, "invalid_response", member, registered)
    assert "signature" in response.json()["message"]


def test_a_replayed_assertion_is_refused(client, member, registered, authenticator):
    options = sign_in_options(client)
    credential = authenticator.get(options)
    assert post_json(client, "/passkeys/login/verify", {"credential": credential}).status_code == 200
    _sign_out(client, member)
    registered.refresh_from_db()

    replay = post_json(client, "/passkeys/login/verify", {"credential": credential})

    assert replay.status_code == 400
    assert replay.json()["error"] == "challenge_expired"
    assert UserSession.objects.filter(user=member, ended_at__isnull=True).count() == 0


def test_the_same_challenge_cannot_be_answered_twice_even_with_a_fresh_signature(client, member, registered,
                                                                                   authenticator):
    options = sign_in_options(client)
    assert post_json(client, "/passkeys/login/verify", {"credential": authenticator.get(options)}).status_code == 200
    _sign_out(client, member)

    again = post_json(client, "/passkeys/login/verify", {"credential": authenticator.get(options)})

    assert again.status_code == 400
    assert again.json()["error"] == "challenge_expired"


def test_an_unknown_credential_is_refused(client, member, registered):
    stranger = SoftAuthenticator(origin=ISSUER, rp_id="localhost", user_handle=b"someone")

    response = sign_in(client, stranger)

    _refused(response, "unknown_credential", member, registered)
    assert AuditEvent.objects.get(action="login.failed").target_id == ""


def test_a_user_handle_of_another_account_is_refused(client, member, registered, authenticator):
    response = sign_in(client, authenticator, user_handle=b"another-account-handle")

    _refused(response, "user_mismatch", member, registered)


def test_passwordless_without_user_verification_is_refused(client, member, registered, authenticator):
    authenticator.user_verified = False

    response = sign_in(client, authenticator)

    _refused(response, "invalid_response", member, registered)
    assert "verif" in response.json()["message"]


def test_a_counter_that_goes_back_is_refused_and_audited(client, member, registered, authenticator):
    assert sign_in(client, authenticator).status_code == 200  # count 2
    _sign_out(client, member)
    registered.refresh_from_db()

    response = sign_in(client, authenticator, count=2)

    assert response.status_code == 400
    assert response.json()["error"] == "counter_regression"
    event = AuditEvent.objects.get(action="passkey.counter_regressed")
    assert event.metadata == {"passkey": registered.pk, "stored": 2, "received": 2}
    registered.refresh_from_db()
    assert registered.sign_count == 2
    assert UserSession.objects.filter(user=member, ended_at__isnull=True).count() == 0


def test_an_authenticator_without_a_counter_keeps_working(client, sign_in, member):
    counterless = SoftAuthenticator(origin=ISSUER, rp_id="localhost", uses_counter=False)
    assert register(sign_in(member), counterless).status_code == 201
    _sign_out(client, member)

    for _attempt in range(2):
        assert sign_in_response_ok(client, counterless)
        _sign_out(client, member)
    assert Passkey.objects.get(user=member).sign_count == 0


def test_a_disabled_account_cannot_sign_in_with_its_passkey(client, member, registered, authenticator):
    member.status = "disabled"
    member.save()

    response = sign_in(client, authenticator)

    _refused(response, "account_refused", member, registered, status=403)
    assert "disabled" in response.json()["message"]


def test_a_suspended_member_cannot_sign_in_with_its_passkey(client, member, registered, authenticator):
    member.memberships.update(status="suspended")

    response = sign_in(client, authenticator)

    _refused(response, "account_refused", member, registered, status=403)
    assert "suspended" in response.json()["message"]


def test_verify_without_options_is_refused(client, registered, authenticator):
    response = post_json(client, "/passkeys/login/verify", {"credential": authenticator.get({"challenge": "AAAA"})})
    assert response.status_code == 400
    assert response.json()["error"] == "challenge_expired"


def test_the_sign_in_throttle_counts_failed_passkeys(client, settings, member, registered, authenticator):
    settings.GATEHOUSE_THROTTLE_LOGIN_IP_LIMIT = 2
    for _attempt in range(2):
        assert sign_in(client, authenticator, origin="http://evil.example").status_code == 400

    response = sign_in(client, authenticator)

    assert response.status_code == 429
    assert response.json()["error"] == "throttled"
    assert UserSession.objects.filter(user=member, ended_at__isnull=True).count() == 0


# ------------------------------------------------------------------ second factor after a password


def _password_step(client, email="bob@acme.test"):
    response = client.post("/login", {"email": email, "password": DEFAULT_PASSWORD})
    assert shows_second_factor_step(response)  # the passkey is asked for next
    return response


def test_after_the_password_a_passkey_completes_the_sign_in(client, member, registered, authenticator):
    _password_step(client)
    options = post_json(client, "/passkeys/second-factor/options").json()
    assert options["userVerification"] == "preferred"
    assert [d["id"] for d in options["allowCredentials"]] == [registered.credential_id]

    response = post_json(client, "/passkeys/second-factor/verify", {"credential": authenticator.get(options)})

    assert response.status_code == 200
    assert response.json() == {"redirect": "/account/"}
    amr = UserSession.objects.get(user=member, ended_at__isnull=True).amr
    assert amr[:2] == ["pwd", "hwk"]
    assert "mfa" in amr


def test_second_factor_refuses_another_accounts_passkey(client, sign_in, member, registered, org):
    other = MembershipFactory(org=org, role="member", user=UserFactory(email="eve@acme.test")).user
    eves_key = SoftAuthenticator(origin=ISSUER, rp_id="localhost")
    assert register(sign_in(other), eves_key).status_code == 201
    _sign_out(client, other)
    _password_step(client)
    options = post_json(client, "/passkeys/second-factor/options").json()

    response = post_json(client, "/passkeys/second-factor/verify", {"credential": eves_key.get(options)})

    assert response.status_code == 400
    assert response.json()["error"] == "unknown_credential"
    assert not UserSession.objects.filter(ended_at__isnull=True).exists()


def test_second_factor_without_a_password_first_says_start_again(client, registered, authenticator):
    options = post_json(client, "/passkeys/second-factor/options")
    assert options.status_code == 400
    assert options.json() == {"error": "sign_in_expired", "message": "Your sign-in timed out. Start again.",
                              "redirect": "/login"}
    verify = post_json(client, "/passkeys/second-factor/verify", {"credential": {}})
    assert verify.status_code == 400


def test_a_passwordless_challenge_does_not_answer_the_second_factor(client, member, registered, authenticator):
    _password_step(client)
    passwordless_options = sign_in_options(client)

    response = post_json(client, "/passkeys/second-factor/verify",
                         {"credential": authenticator.get(passwordless_options)})

    assert response.status_code == 400
    assert response.json()["error"] == "challenge_expired"


def test_an_expired_sign_in_challenge_is_refused(client, member, registered, authenticator, monkeypatch):
    options = sign_in_options(client)
    later = ceremonies.time.time() + ceremonies.CHALLENGE_SECONDS + 1
    monkeypatch.setattr(ceremonies.time, "time", lambda: later)

    response = post_json(client, "/passkeys/login/verify", {"credential": authenticator.get(options)})

    _refused(response, "challenge_expired", member, registered)


def test_a_passkey_whose_account_lost_its_user_handle_is_refused_not_a_500(client, member, registered, authenticator):
    PasskeyUser.objects.filter(user=member).delete()

    response = sign_in(client, authenticator)

    _refused(response, "user_mismatch", member, registered)


def test_the_counter_moves_forward_in_one_step_so_a_racing_copy_loses(member, registered):
    # Two assertions signed with the same count, checked in parallel: both read the stored count 1, the
    # first one's UPDATE moves it to 2, the second one's finds nothing to update.
    stale = Passkey.objects.get(pk=registered.pk)
    assert _counter_advance(passkey=registered, new_count=2, backed_up=False)
    assert not _counter_advance(passkey=stale, new_count=2, backed_up=False)
    assert Passkey.objects.get(pk=registered.pk).sign_count == 2


def test_a_counter_that_drops_to_zero_is_a_regression_but_zero_stays_fine_without_one(member, registered):
    assert not _counter_advance(passkey=registered, new_count=0, backed_up=False)  # stored 1, then 0
    Passkey.objects.filter(pk=registered.pk).update(sign_count=0)
    registered.refresh_from_db()
    assert _counter_advance(passkey=registered, new_count=0, backed_up=True)
    assert _counter_advance(passkey=registered, new_count=0, backed_up=True)
