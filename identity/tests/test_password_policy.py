"""Per-org password policy: each rule with the message a user sees, the strictest-of-orgs rule, and the
forced change at sign-in (maximum age, administrator's flag)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from config.exceptions import DomainError, NotAllowed
from directory.models import User
from directory.services import user_password_change_require
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory
from identity.models import PasswordChangeRequired, PasswordPolicy, UserSession
from identity.password_policy import effective_policy
from identity.tests.link_support import last_link, outbox
from orgs.models import Membership
from orgs.services import member_invite
from orgs.settings_services import password_policy_update

pytestmark = pytest.mark.django_db

STEP_URL = "/login/password-change"


def _policy(org, **fields):
    values = {"min_length": 12, "check_common": True, "history_count": 0, "max_age_days": None, **fields}
    return password_policy_update(org=org, actor=None, **values)


def _change(client, current, new):
    return client.post("/account/password", {"current_password": current, "new_password1": new,
                                             "new_password2": new})


def _errors(response, field="new_password1") -> list[str]:
    return list(response.context["form"].errors.get(field, []))


# --- the policy itself --------------------------------------------------------------------------


def test_the_strictest_policy_of_active_memberships_applies(org, other_org, org_member):
    third = OrganizationFactory(slug="initech")
    MembershipFactory(org=other_org, user=org_member)
    MembershipFactory(org=third, user=org_member, status=Membership.Status.SUSPENDED)
    _policy(org, min_length=14, history_count=2, max_age_days=90, check_common=False)
    _policy(other_org, min_length=18, history_count=0, max_age_days=30)
    _policy(third, min_length=40, history_count=24, max_age_days=1)

    policy = effective_policy(user=org_member)

    assert (policy.min_length, policy.check_common, policy.history_count, policy.max_age_days) == (18, True, 2, 30)


def test_updating_the_policy_is_validated_and_audited(org, org_admin):
    with pytest.raises(DomainError, match="Min length must be a whole number from 12 to 128.") as refused:
        password_policy_update(org=org, actor=org_admin, min_length=8, check_common=True, history_count=0,
                               max_age_days=None)
    assert refused.value.field == "min_length"
    assert not PasswordPolicy.objects.exists()

    password_policy_update(org=org, actor=org_admin, min_length=16, check_common=True, history_count=5,
                           max_age_days=180)
    password_policy_update(org=org, actor=org_admin, min_length=16, check_common=True, history_count=5,
                           max_age_days=180)

    event = AuditEvent.objects.get(action="password_policy.updated")
    assert (event.actor, event.org) == (org_admin, org)
    assert event.metadata["before"]["min_length"] == 12
    assert event.metadata["after"] == {"min_length": 16, "check_common": True, "history_count": 5,
                                       "max_age_days": 180}


# --- each rule, as the user sees it --------------------------------------------------------------


def test_minimum_length_gives_one_message_with_the_orgs_length(client, sign_in, org, org_member):
    _policy(org, min_length=20)
    sign_in(org_member)

    response = _change(client, DEFAULT_PASSWORD, "only-sixteen-chr")

    assert response.status_code == 200
    assert _errors(response) == ["This password is too short. It must contain at least 20 characters."]
    assert "Use at least 20 characters." in response.content.decode()
    assert _change(client, DEFAULT_PASSWORD, "twenty-characters-or-more").status_code == 302


def test_common_password_check_is_added_by_the_org(client, sign_in, org, org_member, settings):
    settings.AUTH_PASSWORD_VALIDATORS = [
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    ]
    sign_in(org_member)
    _policy(org, check_common=True)

    refused = _change(client, DEFAULT_PASSWORD, "password1234")

    assert _errors(refused) == ["This password is too common."]
    _policy(org, check_common=False)
    assert _change(client, DEFAULT_PASSWORD, "password1234").status_code == 302


def test_the_last_n_passwords_cannot_be_reused(client, sign_in, org, org_member):
    _policy(org, history_count=3)
    sign_in(org_member)
    passwords = [DEFAULT_PASSWORD, "second-long-passphrase", "third-long-passphrase"]
    for current, new in zip(passwords, passwords[1:], strict=False):
        assert _change(client, current, new).status_code == 302

    for old in passwords:
        response = _change(client, passwords[-1], old)
        assert _errors(response) == [
            "You used this password before. Choose one that differs from your last 3 passwords."]
    assert _change(client, passwords[-1], "fourth-long-passphrase").status_code == 302
    # The oldest one has dropped out of the last three.
    assert _change(client, "fourth-long-passphrase", DEFAULT_PASSWORD).status_code == 302


def test_reuse_is_refused_on_the_reset_page_too(client, org, org_member, django_capture_on_commit_callbacks):
    _policy(org, history_count=1)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/password/reset", {"email": "member@acme.test"})

    response = client.post(last_link(kind="password_reset"),
                           {"new_password1": DEFAULT_PASSWORD, "new_password2": DEFAULT_PASSWORD})

    assert _errors(response) == ["You used this password before. Choose one that differs from your last password."]


def test_an_invitation_sets_the_first_password_under_the_inviting_orgs_policy(client, org, org_admin):
    _policy(org, min_length=20)
    member_invite(org=org, email="dana@example.test", role="member", actor=org_admin)
    path = last_link(recipient="dana@example.test")

    refused = client.post(path, {"new_password1": "only-sixteen-chr", "new_password2": "only-sixteen-chr"})

    assert _errors(refused) == ["This password is too short. It must contain at least 20 characters."]
    assert "Use at least 20 characters." in client.get(path).content.decode()
    assert client.post(path, {"new_password1": "twenty-characters-or-more",
                              "new_password2": "twenty-characters-or-more"}).status_code == 302


# --- forced change at sign-in --------------------------------------------------------------------


def _sign_in(client, password=DEFAULT_PASSWORD, email="member@acme.test", next_url=""):
    return client.post("/login", {"email": email, "password": password, "next": next_url})


def _age(user, days):
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=days))


def test_a_password_past_the_maximum_age_must_be_changed_before_signing_in(client, org, org_member):
    _policy(org, max_age_days=90)
    _age(org_member, 91)

    response = _sign_in(client, next_url="/account/")

    assert response.status_code == 302
    assert response["Location"] == STEP_URL
    assert "_auth_user_id" not in client.session
    assert not UserSession.objects.filter(user=org_member).exists()
    # Nothing else is reachable half-way.
    assert client.get("/account/").status_code == 302
    page = client.get(STEP_URL)
    assert page.status_code == 200
    assert "Your password is older than your organization allows." in page.content.decode()

    same = client.post(STEP_URL, {"new_password1": DEFAULT_PASSWORD, "new_password2": DEFAULT_PASSWORD})
    assert _errors(same) == ["Choose a password different from your current one."]
    mismatch = client.post(STEP_URL, {"new_password1": "a-fresh-passphrase", "new_password2": "other"})
    assert _errors(mismatch, "new_password2") == ["The two passwords do not match."]
    weak = client.post(STEP_URL, {"new_password1": "short", "new_password2": "short"})
    assert "This password is too short." in _errors(weak)[0]
    assert "_auth_user_id" not in client.session

    done = client.post(STEP_URL, {"new_password1": "a-fresh-passphrase", "new_password2": "a-fresh-passphrase"})

    assert done.status_code == 302
    assert done["Location"] == "/account/"
    assert client.session["_auth_user_id"] == str(org_member.pk)
    assert User.objects.get(pk=org_member.pk).check_password("a-fresh-passphrase")
    event = AuditEvent.objects.get(action="password.changed")
    assert (event.actor, event.metadata["reason"], event.metadata["at_sign_in"]) == (org_member, "expired", True)
    assert AuditEvent.objects.filter(action="login.succeeded", actor=org_member).count() == 1
    assert outbox(kind="password_changed")
    # Next time, no step.
    assert _sign_in(Client(), password="a-fresh-passphrase")["Location"] == "/account/"


def test_a_young_enough_password_signs_in_directly(client, org, org_member):
    _policy(org, max_age_days=90)
    _age(org_member, 89)

    assert _sign_in(client)["Location"] == "/account/"


def test_the_maximum_age_of_an_org_where_the_user_is_suspended_does_not_apply(client, org, other_org, org_member):
    MembershipFactory(org=other_org, user=org_member, status=Membership.Status.SUSPENDED)
    _policy(other_org, max_age_days=1)
    _age(org_member, 30)

    assert _sign_in(client)["Location"] == "/account/"


def test_an_admin_can_require_a_change_at_next_sign_in(client, org, org_admin, org_member):
    user_password_change_require(org=org, user=org_member, actor=org_admin)

    assert _sign_in(client)["Location"] == STEP_URL
    assert "Your administrator asked you to choose a new password" in client.get(STEP_URL).content.decode()
    client.post(STEP_URL, {"new_password1": "a-fresh-passphrase", "new_password2": "a-fresh-passphrase"})

    assert client.session["_auth_user_id"] == str(org_member.pk)
    assert not PasswordChangeRequired.objects.exists()
    event = AuditEvent.objects.get(action="password.change_required")
    assert (event.actor, event.org, event.target_id) == (org_admin, org, str(org_member.pk))
    assert AuditEvent.objects.get(action="password.changed").metadata["reason"] == "required"


def test_an_org_admin_cannot_require_it_of_someone_who_also_belongs_elsewhere(org, other_org, org_admin,
                                                                              org_member, operator):
    MembershipFactory(org=other_org, user=org_member)

    with pytest.raises(NotAllowed, match="also belongs to another organization"):
        user_password_change_require(org=org, user=org_member, actor=org_admin)
    assert not PasswordChangeRequired.objects.exists()
    user_password_change_require(org=None, user=org_member, actor=operator)
    assert PasswordChangeRequired.objects.filter(user=org_member).exists()


def test_the_step_page_without_a_sign_in_in_progress_goes_back_to_sign_in(client, org_member):
    assert client.get(STEP_URL)["Location"] == "/login"
    assert client.post(STEP_URL, {"new_password1": "a-fresh-passphrase",
                                  "new_password2": "a-fresh-passphrase"})["Location"] == "/login"
    assert User.objects.get(pk=org_member.pk).check_password(DEFAULT_PASSWORD)


def test_a_wrong_password_never_reaches_the_step(client, org, org_member):
    user_password_change_require(org=org, user=org_member, actor=None)

    response = _sign_in(client, password="wrong-password")

    assert response.status_code == 200
    assert client.get(STEP_URL)["Location"] == "/login"


def test_another_account_with_no_policy_is_unaffected(client, org):
    UserFactory(email="free@example.test")
    _policy(org, max_age_days=1)

    assert _sign_in(client, email="free@example.test")["Location"] != STEP_URL
