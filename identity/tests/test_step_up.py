"""/account/confirm: confirming it's you before a sensitive action — with the password only when the person
has no second factor (under the sign-in lockout), else with an authenticator code, a recovery code or a
passkey (under the MFA throttle); every refusal audited as step_up.failed and changing nothing."""

import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEvent
from config.tests.helpers import run_python
from directory.models import Group
from directory.tests.factories import DEFAULT_PASSWORD, GroupFactory, MembershipFactory, UserFactory
from emailqueue.models import OutboundEmail
from identity.mfa.tests.support import code_at, enrol_totp, enrol_with_recovery
from identity.models import UserSession
from identity.passkeys.tests.authenticator import SoftAuthenticator
from identity.passkeys.tests.support import ISSUER, post_json, register
from identity.services import session_sign_in_for_tests
from identity.step_up import STEP_UP_SESSION_KEY
from identity.tests.step_up_support import sign_in_age

pytestmark = pytest.mark.django_db

CONFIRM = "/account/confirm"


@pytest.fixture
def group(org):
    return GroupFactory(org=org, name="Engineering", slug="engineering")


@pytest.fixture
def delete_url(org, group):
    return reverse("console:group-delete", args=[org.slug, group.pk])


@pytest.fixture
def asked(client, sign_in, org_admin, delete_url):
    """org_admin signed in 11 minutes ago, sent to /account/confirm by deleting a group."""
    sign_in(org_admin)
    sign_in_age(client, 11)
    assert client.post(delete_url)["Location"] == CONFIRM
    return client


def _page(client, query: str = "") -> str:
    return unescape(client.get(CONFIRM + query).content.decode())


def _still_asked(client, delete_url) -> bool:
    return client.post(delete_url).get("Location") == CONFIRM


def _failed(**metadata):
    return AuditEvent.objects.filter(action="step_up.failed", **{f"metadata__{k}": v for k, v in metadata.items()})


# ---------------------------------------------------------------------- the page


def test_signed_out_is_sent_to_sign_in(client):
    response = client.get(CONFIRM)
    assert response.status_code == 302
    assert response["Location"] == "/login?next=/account/confirm"


def test_the_page_names_the_action_and_asks_for_the_password_of_someone_without_a_factor(asked):
    page = _page(asked)
    assert "To delete the group, confirm it's you (admin@acme.test)." in page
    assert "more than 10 minutes ago" in page
    assert 'name="password"' in page
    assert 'autocomplete="current-password"' in page
    assert "Use your authenticator app" not in page
    assert 'href="/console/acme/groups/' in page  # Cancel goes back to the action's page


def test_without_a_pending_action_it_confirms_and_lands_on_the_console(client, sign_in, org_admin):
    sign_in(org_admin)
    page = _page(client)
    assert "Confirm it's you (admin@acme.test)." in page
    assert "more than 10 minutes ago" not in page  # a fresh sign-in is not told it is old
    response = client.post(CONFIRM, {"method": "password", "password": DEFAULT_PASSWORD}, follow=True)
    assert response.redirect_chain[0][0] == "/console/"
    assert "Confirmed — it's you." in unescape(response.content.decode())
    event = AuditEvent.objects.get(action="step_up.succeeded")
    assert (event.org, event.metadata["for"]) == (None, "")


def test_a_wrong_password_is_refused_audited_and_confirms_nothing(asked, org, org_admin, delete_url):
    response = asked.post(CONFIRM, {"method": "password", "password": "not-it"})
    assert response.status_code == 400
    assert "That password is not right." in unescape(response.content.decode())
    event = _failed(method="password").get()
    assert (event.actor, event.org, event.metadata["reason"], event.metadata["for"]) == (
        org_admin, org, "invalid", "group.delete")
    assert not AuditEvent.objects.filter(action="step_up.succeeded").exists()
    assert STEP_UP_SESSION_KEY not in asked.session
    assert _still_asked(asked, delete_url)


def test_an_empty_password_is_a_field_error(asked):
    response = asked.post(CONFIRM, {"method": "password", "password": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_wrong_passwords_count_toward_the_sign_in_lockout(asked, settings, org_admin, delete_url):
    settings.GATEHOUSE_LOCKOUT_THRESHOLD = 3
    statuses = [asked.post(CONFIRM, {"method": "password", "password": "nope"}).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]

    response = asked.post(CONFIRM, {"method": "password", "password": DEFAULT_PASSWORD})

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many wrong passwords. Try again in 15 minutes." in unescape(response.content.decode())
    assert _failed(method="password", reason="locked").count() == 2
    assert _still_asked(asked, delete_url)
    # The very same lock holds at the sign-in page.
    assert AuditEvent.objects.filter(action="account.locked", target_id=str(org_admin.pk)).exists()


def test_an_unknown_method_is_refused(asked):
    response = asked.post(CONFIRM, {"method": "magic", "code": "1"})
    assert response.status_code == 400
    assert "Choose one of the ways shown to confirm it's you." in unescape(response.content.decode())
    assert not AuditEvent.objects.filter(action__startswith="step_up.").exists()


# ---------------------------------------------------------------------- with an authenticator app


def test_someone_with_a_factor_confirms_with_it_not_the_password(asked, org_admin, delete_url):
    enrol_totp(org_admin)
    page = _page(asked)
    assert "Code from your authenticator app" in page
    assert 'name="password"' not in page

    response = asked.post(CONFIRM, {"method": "password", "password": DEFAULT_PASSWORD})

    assert response.status_code == 400
    assert "You have two-step verification: confirm with it, not your password." in unescape(
        response.content.decode())
    assert not AuditEvent.objects.filter(action__startswith="step_up.").exists()
    assert _still_asked(asked, delete_url)


def test_an_authenticator_code_confirms(asked, org, org_admin, delete_url, group):
    _, totp = enrol_totp(org_admin)
    response = asked.post(CONFIRM, {"method": "totp", "code": code_at(totp)})
    assert response.status_code == 302
    assert response["Location"] == delete_url
    event = AuditEvent.objects.get(action="step_up.succeeded")
    assert (event.metadata["method"], event.org) == ("totp", org)
    asked.post(delete_url)
    assert not Group.objects.filter(pk=group.pk).exists()


def test_a_wrong_code_is_refused_and_audited(asked, org_admin, delete_url):
    _, totp = enrol_totp(org_admin)
    wrong = str((int(code_at(totp)) + 1) % 1_000_000).zfill(6)
    response = asked.post(CONFIRM, {"method": "totp", "code": wrong})
    assert response.status_code == 400
    assert "That code is not right" in unescape(response.content.decode())
    assert _failed(method="totp", reason="invalid").count() == 1
    assert AuditEvent.objects.filter(action="mfa.failed").count() == 1
    assert _still_asked(asked, delete_url)


def test_a_recovery_code_confirms_and_the_user_is_told(asked, org_admin):
    _totp, codes = enrol_with_recovery(org_admin)
    assert "Use a recovery code" in _page(asked)
    assert "Recovery code" in _page(asked, "?method=recovery")
    response = asked.post(CONFIRM, {"method": "recovery", "code": codes[0]})
    assert response.status_code == 302
    assert AuditEvent.objects.get(action="step_up.succeeded").metadata["method"] == "recovery"
    assert OutboundEmail.objects.filter(recipient=org_admin.email, kind="mfa_recovery_code_used").exists()


def test_wrong_codes_hit_the_mfa_throttle(asked, settings, org_admin, delete_url):
    settings.GATEHOUSE_MFA_THROTTLE_LIMIT = 2
    settings.GATEHOUSE_MFA_THROTTLE_WINDOW_SECONDS = 10**9  # windows are aligned: no boundary inside this test
    _totp, codes = enrol_with_recovery(org_admin)
    statuses = [asked.post(CONFIRM, {"method": "recovery", "code": "AAAA-BBBB-CCCC"}).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]

    response = asked.post(CONFIRM, {"method": "recovery", "code": codes[0]})

    assert response.status_code == 429
    assert re.search(r"Too many wrong codes\. Try again in \d+ minutes\.", response.content.decode())
    assert _failed(method="recovery", reason="throttled").count() == 2
    assert _still_asked(asked, delete_url)


def test_an_unknown_method_choice_on_get_falls_back(asked, org_admin):
    enrol_totp(org_admin)
    assert "Code from your authenticator app" in _page(asked, "?method=password")


# ---------------------------------------------------------------------- with a passkey


@pytest.fixture
def authenticator(settings) -> SoftAuthenticator:
    settings.GATEHOUSE_ISSUER = ISSUER
    return SoftAuthenticator(origin=ISSUER, rp_id="localhost")


@pytest.fixture
def with_passkey(client, sign_in, org_admin, authenticator, delete_url):
    sign_in(org_admin)
    assert register(client, authenticator).status_code == 201
    sign_in_age(client, 11)
    assert client.post(delete_url)["Location"] == CONFIRM
    return client


def _passkey_answer(client, authenticator, **get_kwargs):
    options = post_json(client, "/account/confirm/passkey/options").json()
    return options, authenticator.get(options, **get_kwargs)


def test_a_passkey_confirms(with_passkey, authenticator, org, delete_url, group):
    page = _page(with_passkey)
    assert 'data-options-url="/account/confirm/passkey/options"' in page
    assert "Use your authenticator app" not in page
    options, credential = _passkey_answer(with_passkey, authenticator)
    assert len(options["allowCredentials"]) == 1

    response = post_json(with_passkey, "/account/confirm/passkey/verify", {"credential": credential})

    assert response.status_code == 200
    assert response.json() == {"redirect": delete_url}
    event = AuditEvent.objects.get(action="step_up.succeeded")
    assert (event.metadata["method"], event.org) == ("passkey", org)
    with_passkey.post(delete_url)
    assert not Group.objects.filter(pk=group.pk).exists()


def test_a_replayed_passkey_answer_is_refused(with_passkey, authenticator, delete_url):
    _options, credential = _passkey_answer(with_passkey, authenticator)
    assert post_json(with_passkey, "/account/confirm/passkey/verify", {"credential": credential}).status_code == 200
    replay = post_json(with_passkey, "/account/confirm/passkey/verify", {"credential": credential})
    assert replay.status_code == 400
    assert replay.json()["error"] == "challenge_expired"
    assert _failed(method="passkey", reason="challenge_expired").count() == 1


def test_another_accounts_passkey_is_refused(with_passkey, authenticator, delete_url, org):
    stranger = MembershipFactory(org=org, user=UserFactory(email="eve@acme.test")).user
    other = SoftAuthenticator(origin=ISSUER, rp_id="localhost")
    eve_client = Client()
    session_sign_in_for_tests(client=eve_client, user=stranger)
    assert register(eve_client, other).status_code == 201
    _options, credential = _passkey_answer(with_passkey, other)
    response = post_json(with_passkey, "/account/confirm/passkey/verify", {"credential": credential})
    assert response.status_code == 400
    assert response.json()["error"] == "unknown_credential"
    assert _failed(method="passkey").count() == 1
    assert _still_asked(with_passkey, delete_url)


def test_a_malformed_passkey_answer_is_a_400(with_passkey):
    response = with_passkey.post("/account/confirm/passkey/verify", data=b"{not json",
                                 content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_response"


def test_passkey_endpoints_refuse_without_a_passkey_or_a_sign_in(client, sign_in, org_admin, authenticator):
    assert post_json(client, "/account/confirm/passkey/options").status_code == 401
    sign_in(org_admin)
    response = post_json(client, "/account/confirm/passkey/options")
    assert response.status_code == 400
    assert response.json()["error"] == "no_passkey"


def test_a_passkey_is_not_posted_to_the_form(with_passkey):
    response = with_passkey.post(CONFIRM, {"method": "passkey"})
    assert response.status_code == 400
    assert UserSession.objects.count() == 1


# ---------------------------------------------------------------------- configuration


def test_a_window_under_a_minute_is_refused_at_start(tmp_path):
    probe = "import django; django.setup(); from django.conf import settings; print(settings.GATEHOUSE_STEP_UP_SECONDS)"
    refused = run_python(["-c", probe], tmp_path, GATEHOUSE_STEP_UP_SECONDS="30")
    assert refused.returncode != 0
    assert "GATEHOUSE_STEP_UP_SECONDS must be at least 60." in refused.stderr
    accepted = run_python(["-c", probe], tmp_path, GATEHOUSE_STEP_UP_SECONDS="1800")
    assert accepted.stdout.strip() == "1800", accepted.stderr
