"""Signing in at /login: credentials, refusals, `next`, session cycling, audit rows."""

import re

import pytest
from django.conf import settings
from django.contrib.auth.hashers import MD5PasswordHasher
from django.contrib.sessions.models import Session
from django.test import Client
from django.test.utils import override_settings

from audit.models import AuditEvent
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory
from identity.middleware import SESSION_SID_KEY
from identity.models import UserSession
from identity.tests.html_forms import hidden_input
from orgs.models import Membership, Organization

LOGIN_URL = "/login"
INVALID = "Incorrect email or password."
CHROME_ON_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)


def _post_login(client, email, password=DEFAULT_PASSWORD, **extra):
    return client.post(LOGIN_URL, {"email": email, "password": password, **extra.pop("data", {})}, **extra)


def _account_status(client) -> int:
    """What the browser sees on the account page: 200 when signed in, a redirect to /login when not."""
    return client.get("/account/").status_code


def _assert_signed_out(client):
    response = client.get("/account/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


def _failed_event() -> AuditEvent:
    return AuditEvent.objects.get(action="login.failed")


@pytest.fixture
def client_factory():
    return Client


# --- the page -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_page_has_labelled_email_password_and_sign_in_button(client):
    response = client.get(LOGIN_URL)

    assert response.status_code == 200
    html = response.content.decode()
    for label, input_type, name in [("Email", "email", "email"), ("Password", "password", "password")]:
        assert f'<label for="id_{name}">{label}</label>' in html
        assert re.search(rf'<input type="{input_type}" name="{name}"[^>]*id="id_{name}"', html)
    assert re.search(r'<button type="submit">\s*Sign in\s*</button>', html)
    assert 'name="csrfmiddlewaretoken"' in html


# --- success --------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["Mixed.Case@Example.test", "mixed.case@example.test", "MIXED.CASE@EXAMPLE.TEST"])
@pytest.mark.django_db
def test_sign_in_accepts_email_in_any_letter_case(client, org, typed):
    user = MembershipFactory(org=org, user=UserFactory(email="Mixed.Case@Example.test")).user

    response = _post_login(client, typed)

    assert response.status_code == 302
    assert response["Location"] == "/account/"
    page = client.get("/account/")
    assert page.status_code == 200
    assert page.context["user"] == user


@pytest.mark.django_db
def test_sign_in_records_a_user_session_with_a_random_sid(client, org_member):
    response = _post_login(client, org_member.email, HTTP_USER_AGENT=CHROME_ON_LINUX)

    assert response.status_code == 302
    user_session = UserSession.objects.get(user=org_member)
    session = client.session
    assert session[SESSION_SID_KEY] == user_session.sid
    assert user_session.sid != session.session_key
    assert len(user_session.sid) >= 32
    assert user_session.device == "Chrome on Linux"
    assert user_session.user_agent == CHROME_ON_LINUX
    assert user_session.ip == "127.0.0.1"
    assert user_session.amr == ["pwd"]
    assert user_session.ended_at is None
    assert user_session.is_live


@pytest.mark.django_db
def test_each_sign_in_gets_its_own_sid(client_factory, org_member):
    for _ in range(2):
        assert _post_login(client_factory(), org_member.email).status_code == 302

    sids = list(UserSession.objects.filter(user=org_member).values_list("sid", flat=True))
    assert len(sids) == 2
    assert sids[0] != sids[1]


@pytest.mark.django_db
def test_sign_in_writes_login_succeeded_audit(client, org_member):
    _post_login(client, org_member.email, HTTP_USER_AGENT=CHROME_ON_LINUX)

    event = AuditEvent.objects.get(action="login.succeeded")
    assert event.actor == org_member
    assert event.actor_label == org_member.email
    assert event.ip == "127.0.0.1"
    assert event.user_agent == CHROME_ON_LINUX
    assert event.metadata["amr"] == ["pwd"]
    assert event.metadata["sid"] == UserSession.objects.get(user=org_member).sid
    assert not AuditEvent.objects.filter(action="login.failed").exists()


@pytest.mark.django_db
def test_sign_in_cycles_the_session_key(client, org_member):
    # An anonymous session must exist first, or there is nothing to cycle.
    session = client.session
    session["probe"] = "set before sign-in"
    session.save()
    before = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.filter(session_key=before).exists()

    response = _post_login(client, org_member.email)

    assert response.status_code == 302
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    # The pre-login key is gone: someone who planted it cannot ride on the new session.
    assert not Session.objects.filter(session_key=before).exists()
    assert client.session["probe"] == "set before sign-in"


@pytest.mark.django_db
def test_planted_pre_login_session_cookie_is_not_signed_in(client, client_factory, org_member):
    session = client.session
    session["probe"] = "x"
    session.save()
    planted = client.cookies[settings.SESSION_COOKIE_NAME].value

    _post_login(client, org_member.email)

    attacker = client_factory()
    attacker.cookies[settings.SESSION_COOKIE_NAME] = planted
    _assert_signed_out(attacker)
    assert _account_status(client) == 200


@pytest.mark.django_db
def test_member_lands_on_account_page(client, org_member):
    response = _post_login(client, org_member.email, follow=True)

    assert response.redirect_chain == [("/account/", 302)]
    assert response.status_code == 200
    assert org_member.email in response.content.decode()


@pytest.mark.django_db
def test_operator_without_memberships_lands_on_platform_console(client, operator):
    assert not Membership.objects.filter(user=operator).exists()

    response = _post_login(client, operator.email, follow=True)

    assert response.redirect_chain == [("/console/", 302), ("/console/platform/", 302)]
    assert response.status_code == 200


@pytest.mark.django_db
def test_org_admin_lands_on_their_console(client, org_admin):
    response = _post_login(client, org_admin.email, follow=True)

    assert response.redirect_chain == [("/console/", 302), ("/console/acme/", 302)]
    assert response.status_code == 200


@pytest.mark.django_db
def test_one_suspended_and_one_active_membership_signs_in(client, org, other_org):
    user = UserFactory(email="split@example.test")
    MembershipFactory(user=user, org=org, status=Membership.Status.SUSPENDED)
    MembershipFactory(user=user, org=other_org, status=Membership.Status.ACTIVE)

    response = _post_login(client, user.email)

    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert _account_status(client) == 200
    assert AuditEvent.objects.filter(action="login.succeeded", actor=user).exists()


@pytest.mark.django_db
def test_only_an_invited_membership_signs_in(client, org):
    user = MembershipFactory(org=org, status=Membership.Status.INVITED,
                             user=UserFactory(email="invitee@example.test")).user

    response = _post_login(client, user.email)

    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert _account_status(client) == 200


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_wrong_password_gives_generic_message_and_audits_invalid(client, org_member):
    response = _post_login(client, org_member.email, "not-the-password")

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [INVALID]
    assert INVALID in response.content.decode()
    _assert_signed_out(client)
    assert not UserSession.objects.exists()
    event = _failed_event()
    assert event.metadata["reason"] == "invalid"
    assert event.metadata["email"] == org_member.email
    assert event.actor is None
    assert event.target_id == str(org_member.pk)
    assert event.ip == "127.0.0.1"


@pytest.mark.django_db
def test_unknown_email_gives_the_same_message_and_audits_without_actor(client, org_member):
    wrong_password = _post_login(client, org_member.email, "not-the-password")
    unknown = _post_login(client, "Nobody@Example.test")

    assert unknown.status_code == 200
    assert unknown.context["form"].non_field_errors() == [INVALID]
    # Nothing on the page tells an unknown email from a wrong password.
    assert unknown.context["form"].errors == wrong_password.context["form"].errors
    _assert_signed_out(client)
    event = AuditEvent.objects.filter(action="login.failed").order_by("id").last()
    assert event.metadata == {"email": "Nobody@Example.test", "reason": "invalid"}
    assert event.actor is None
    assert event.actor_label == ""
    assert event.target_id == ""
    assert event.org is None


@pytest.mark.django_db
def test_disabled_user_with_correct_password_is_told_and_not_signed_in(client, org):
    user = MembershipFactory(org=org, user=UserFactory(email="gone@example.test", status="disabled")).user

    response = _post_login(client, user.email)

    assert response.status_code == 200
    content = response.content.decode()
    assert "This account is disabled." in content
    assert INVALID not in content
    _assert_signed_out(client)
    assert not UserSession.objects.exists()
    event = _failed_event()
    assert event.metadata["reason"] == "disabled"
    assert event.target_id == str(user.pk)


@pytest.mark.django_db
def test_disabled_user_with_wrong_password_gets_generic_message(client, org):
    user = MembershipFactory(org=org, user=UserFactory(email="gone@example.test", status="disabled")).user

    response = _post_login(client, user.email, "not-the-password")

    content = response.content.decode()
    assert INVALID in content
    assert "disabled" not in content
    assert _failed_event().metadata["reason"] == "invalid"


@pytest.mark.django_db
def test_only_suspended_memberships_are_told_after_correct_password(client, org):
    user = MembershipFactory(org=org, status=Membership.Status.SUSPENDED,
                             user=UserFactory(email="paused@example.test")).user

    response = _post_login(client, user.email)

    assert response.status_code == 200
    content = response.content.decode()
    assert "Your access to Acme Corp is suspended." in content
    assert INVALID not in content
    _assert_signed_out(client)
    assert not UserSession.objects.exists()
    assert not AuditEvent.objects.filter(action="login.succeeded").exists()
    event = _failed_event()
    assert event.metadata["reason"] == "suspended"


@pytest.mark.django_db
def test_only_suspended_memberships_with_wrong_password_get_generic_message(client, org):
    user = MembershipFactory(org=org, status=Membership.Status.SUSPENDED,
                             user=UserFactory(email="paused@example.test")).user

    response = _post_login(client, user.email, "not-the-password")

    content = response.content.decode()
    assert INVALID in content
    assert "suspended" not in content
    assert "Acme Corp" not in content
    assert _failed_event().metadata["reason"] == "invalid"


@pytest.mark.django_db
def test_only_membership_in_a_suspended_org_is_refused_as_suspended(client):
    frozen = OrganizationFactory(slug="frozen", name="Frozen Inc", status=Organization.Status.SUSPENDED)
    user = MembershipFactory(org=frozen, role="admin", user=UserFactory(email="ice@example.test")).user

    response = _post_login(client, user.email)

    assert response.status_code == 200
    assert "Your access to Frozen Inc is suspended." in response.content.decode()
    _assert_signed_out(client)
    assert _failed_event().metadata["reason"] == "suspended"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"password": DEFAULT_PASSWORD}, "email", "This field is required."),
        ({"email": "", "password": DEFAULT_PASSWORD}, "email", "This field is required."),
        ({"email": "not-an-email", "password": DEFAULT_PASSWORD}, "email", "Enter a valid email address."),
        ({"email": "member@acme.test", "password": ""}, "password", "This field is required."),
        ({"email": "member@acme.test"}, "password", "This field is required."),
    ],
)
@pytest.mark.django_db
def test_malformed_form_rerenders_with_field_errors(client, org_member, data, field, message):
    response = client.post(LOGIN_URL, data)

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message]
    assert f'<small class="field-error" id="id_{field}_error">{message}</small>' in response.content.decode()
    _assert_signed_out(client)
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("next_url", ["/" + "a" * 3000, "/acc\x00ount/"])
@pytest.mark.django_db
def test_unusable_next_is_dropped_not_a_silent_dead_end(client, org_member, next_url):
    # `next` is a hidden input: an error on it would re-render the form with no visible message.
    response = _post_login(client, org_member.email, data={"next": next_url})

    assert response.status_code == 302
    assert response["Location"] == "/account/"
    assert _account_status(client) == 200


@pytest.mark.django_db
def test_long_same_site_next_from_query_string_still_lets_the_user_sign_in(client, org_member):
    long_next = "/account/?" + "x" * 3000
    page = client.get(LOGIN_URL, {"next": long_next})

    response = _post_login(client, org_member.email, data={"next": hidden_input(page, "next")})

    assert response.status_code == 302
    assert _account_status(client) == 200


# --- next -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_same_site_next_is_followed(client, org_admin):
    # An org admin would otherwise land on the console, so following `next` is visible.
    response = _post_login(client, org_admin.email, data={"next": "/account/"})

    assert response.status_code == 302
    assert response["Location"] == "/account/"


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "http://testserver.evil.example/",
        "http://evil.example/account/",
    ],
)
@pytest.mark.django_db
def test_off_site_next_is_refused(client, org_admin, next_url):
    response = _post_login(client, org_admin.email, data={"next": next_url})

    assert response.status_code == 302
    assert response["Location"] == "/console/"
    assert _account_status(client) == 200


@pytest.mark.django_db
def test_next_survives_a_failed_attempt(client, org_admin):
    failed = _post_login(client, org_admin.email, "not-the-password", data={"next": "/account/"})

    assert '<input type="hidden" name="next" value="/account/" id="id_next">' in failed.content.decode()
    response = _post_login(client, org_admin.email, data={"next": failed.context["form"]["next"].value()})
    assert response["Location"] == "/account/"


@pytest.mark.django_db
def test_next_from_query_string_ends_up_in_the_form(client):
    response = client.get(LOGIN_URL, {"next": "/account/"})

    assert response.status_code == 200
    assert hidden_input(response, "next") == "/account/"
    assert '<input type="hidden" name="next" value="/account/" id="id_next">' in response.content.decode()


@pytest.mark.django_db
def test_off_site_next_from_query_string_is_dropped_from_the_form(client):
    response = client.get(LOGIN_URL, {"next": "https://evil.example/"})

    assert response.status_code == 200
    assert "evil.example" not in response.content.decode()


@pytest.mark.django_db
def test_next_round_trip_from_query_string_to_redirect(client, org_admin):
    page = client.get(LOGIN_URL, {"next": "/account/"})
    next_value = hidden_input(page, "next")

    response = _post_login(client, org_admin.email, data={"next": next_value})

    assert response["Location"] == "/account/"


@pytest.mark.django_db
def test_signed_in_visit_to_login_goes_to_next_or_landing(client, sign_in, org_admin):
    sign_in(org_admin)

    assert client.get(LOGIN_URL)["Location"] == "/console/"
    assert client.get(LOGIN_URL, {"next": "/account/"})["Location"] == "/account/"
    assert client.get(LOGIN_URL, {"next": "https://evil.example/"})["Location"] == "/console/"


# --- timing ---------------------------------------------------------------------------------------


class CountingHasher(MD5PasswordHasher):
    """MD5 that counts how often it hashes, to show which paths pay the hasher's cost."""

    algorithm = "counting_md5"
    encode_calls = 0

    def encode(self, password, salt):
        CountingHasher.encode_calls += 1
        return super().encode(password, salt)


@pytest.fixture
def counting_hasher():
    with override_settings(PASSWORD_HASHERS=[f"{__name__}.CountingHasher", *settings.PASSWORD_HASHERS]):
        CountingHasher.encode_calls = 0
        yield CountingHasher


@pytest.mark.django_db
def test_unknown_email_pays_the_same_hashing_cost_as_a_wrong_password(client, org, counting_hasher):
    user = MembershipFactory(org=org, user=UserFactory(email="timed@example.test")).user
    assert user.password.startswith("counting_md5$")

    counting_hasher.encode_calls = 0
    wrong_password = _post_login(client, user.email, "not-the-password")
    wrong_password_calls = counting_hasher.encode_calls

    counting_hasher.encode_calls = 0
    unknown = _post_login(client, "nobody@example.test", "not-the-password")
    unknown_calls = counting_hasher.encode_calls

    assert INVALID in wrong_password.content.decode()
    assert INVALID in unknown.content.decode()
    assert wrong_password_calls == 1
    assert unknown_calls == 1


@pytest.mark.django_db
def test_account_without_a_usable_password_also_pays_the_hashing_cost(client, org, counting_hasher):
    user = MembershipFactory(org=org, status=Membership.Status.INVITED,
                             user=UserFactory(email="pending@example.test", password=None)).user
    assert not user.has_usable_password()

    counting_hasher.encode_calls = 0
    response = _post_login(client, user.email, "anything-at-all")

    assert INVALID in response.content.decode()
    assert counting_hasher.encode_calls == 1
    _assert_signed_out(client)
