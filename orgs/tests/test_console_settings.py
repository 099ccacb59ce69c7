"""The org settings page: who may read and change it, bad input, audit rows, and the maximum sign-in age."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from audit.models import AuditEvent
from config.exceptions import DomainError
from directory.tests.factories import MembershipFactory
from identity.models import PasswordPolicy, UserSession
from identity.tests.step_up_support import step_up_mark
from orgs.models import Organization
from orgs.settings_services import organization_settings_update

pytestmark = pytest.mark.django_db

URL = "/console/acme/settings/"

VALID = {
    "name": "Acme Corporation",
    "notify_new_device_sign_in": "on",
    "mfa_policy": "console_roles",
    "session_max_age_minutes": "480",
    "min_length": "16",
    "check_common": "on",
    "history_count": "5",
    "max_age_days": "180",
}


def _snapshot(org: Organization) -> tuple:
    org.refresh_from_db()
    return (org.name, org.notify_new_device_sign_in, org.mfa_policy, org.session_max_age_minutes,
            PasswordPolicy.objects.filter(org=org).exists())


def test_url_and_sidebar_link(org_admin_client, org):
    assert reverse("console:org-settings", kwargs={"org_slug": "acme"}) == URL
    page = org_admin_client.get("/console/acme/").content.decode()
    assert f'href="{URL}"' in page


# ---------------------------------------------------------------- who may read and change


@pytest.mark.parametrize(("role", "get", "post"),
                         [("owner", 200, 302), ("admin", 200, 302), ("auditor", 200, 403), ("member", 403, 403)])
def test_settings_by_role(client, sign_in, org, role, get, post):
    sign_in(MembershipFactory(org=org, role=role).user)

    assert client.get(URL).status_code == get
    assert client.post(URL, VALID).status_code == post

    org.refresh_from_db()
    assert (org.name == "Acme Corporation") is (post == 302)


def test_operator_may_change_settings(operator_client, org):
    assert operator_client.post(URL, VALID).status_code == 302
    assert _snapshot(org)[0] == "Acme Corporation"


def test_auditor_reads_the_settings_without_a_save_button(client, sign_in, org, org_auditor):
    org.session_max_age_minutes = 60
    org.save()
    page = sign_in(org_auditor).get(URL).content.decode()
    assert 'value="60"' in page
    assert "disabled" in page
    assert "Save settings" not in page
    assert "owners and admins change them" in page


def test_auditor_post_changes_nothing_and_records_nothing(client, sign_in, org, org_auditor):
    before = _snapshot(org)
    sign_in(org_auditor).post(URL, VALID)
    assert _snapshot(org) == before
    assert not AuditEvent.objects.filter(action__in=["organization.settings_updated",
                                                     "password_policy.updated"]).exists()


def test_members_have_no_sidebar_link_or_page(client, sign_in, org, org_member):
    response = sign_in(org_member).get(URL)
    assert response.status_code == 403
    assert "does not allow this" in response.content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_orgs_admin_gets_404(other_org_admin_client, org, method):
    response = getattr(other_org_admin_client, method)(URL, VALID)
    assert response.status_code == 404
    assert "Acme" not in response.content.decode()
    assert _snapshot(org) == ("Acme Corp", False, "off", None, False)


def test_anonymous_is_sent_to_sign_in(client, org):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=/console/acme/settings/")


# ---------------------------------------------------------------- saving and auditing


def test_saving_changes_everything_and_audits_before_and_after(org_admin_client, org, org_admin):
    response = org_admin_client.post(URL, VALID)
    assert response.status_code == 302
    assert response["Location"] == URL

    assert _snapshot(org) == ("Acme Corporation", True, "console_roles", 480, True)
    policy = PasswordPolicy.objects.get(org=org)
    assert (policy.min_length, policy.check_common, policy.history_count, policy.max_age_days) == (16, True, 5, 180)

    event = AuditEvent.objects.get(action="organization.settings_updated")
    assert (event.actor, event.org) == (org_admin, org)
    assert event.metadata == {
        "before": {"name": "Acme Corp", "notify_new_device_sign_in": False, "mfa_policy": "off",
                   "session_max_age_minutes": None},
        "after": {"name": "Acme Corporation", "notify_new_device_sign_in": True, "mfa_policy": "console_roles",
                  "session_max_age_minutes": 480},
    }
    policy_event = AuditEvent.objects.get(action="password_policy.updated")
    assert policy_event.actor == org_admin
    assert policy_event.metadata["after"] == {"min_length": 16, "check_common": True, "history_count": 5,
                                              "max_age_days": 180}

    page = org_admin_client.get(URL).content.decode()
    assert "Saved the settings of Acme Corporation." in page


def test_only_changed_fields_are_audited_and_a_resubmit_records_nothing(org_admin_client, org):
    org_admin_client.post(URL, VALID)
    org_admin_client.post(URL, {**VALID, "notify_new_device_sign_in": "", "session_max_age_minutes": ""})

    events = AuditEvent.objects.filter(action="organization.settings_updated").order_by("id")
    assert events.count() == 2
    assert events.last().metadata == {
        "before": {"notify_new_device_sign_in": True, "session_max_age_minutes": 480},
        "after": {"notify_new_device_sign_in": False, "session_max_age_minutes": None},
    }
    # The policy did not change the second time: one policy event in all.
    assert AuditEvent.objects.filter(action="password_policy.updated").count() == 1

    org_admin_client.post(URL, {**VALID, "notify_new_device_sign_in": "", "session_max_age_minutes": ""})
    assert AuditEvent.objects.filter(action="organization.settings_updated").count() == 2


def test_renaming_does_not_create_a_password_policy(org_admin_client, org):
    defaults = {"min_length": "12", "check_common": "on", "history_count": "0", "max_age_days": ""}
    org_admin_client.post(URL, {"name": "Acme Inc", "mfa_policy": "off", **defaults})

    assert _snapshot(org) == ("Acme Inc", False, "off", None, False)
    assert not AuditEvent.objects.filter(action="password_policy.updated").exists()


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(("field", "value", "message"), [
    ("min_length", "5", "greater than or equal to 12"),
    ("min_length", "500", "less than or equal to 128"),
    ("history_count", "-1", "greater than or equal to 0"),
    ("history_count", "25", "less than or equal to 24"),
    ("max_age_days", "0", "greater than or equal to 1"),
    ("max_age_days", "ninety", "Enter a whole number."),
    ("session_max_age_minutes", "0", "greater than or equal to 5"),
    ("session_max_age_minutes", "soon", "Enter a whole number."),
    ("session_max_age_minutes", "999999999999999999999", "less than or equal to 129600"),
    ("mfa_policy", "sometimes", "Select a valid choice."),
    ("name", "   ", "This field is required."),
    ("name", "x" * 151, "at most 150 characters"),
])
def test_bad_input_rerenders_with_the_field_error_and_saves_nothing(org_admin_client, org, field, value, message):
    before = _snapshot(org)

    response = org_admin_client.post(URL, {**VALID, field: value})

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [field]
    assert message in errors[field][0]
    assert escape(errors[field][0]) in response.content.decode()
    assert _snapshot(org) == before
    assert not AuditEvent.objects.filter(action__in=["organization.settings_updated",
                                                     "password_policy.updated"]).exists()


def test_service_refuses_bad_values_and_writes_nothing(org, org_admin):
    for changes, field in [({"mfa_policy": "sometimes"}, "mfa_policy"),
                           ({"session_max_age_minutes": 0}, "session_max_age_minutes"),
                           ({"session_max_age_minutes": "60"}, "session_max_age_minutes"),
                           ({"name": ""}, "name"),
                           ({"name": "Acme Inc", "notify_new_device_sign_in": "yes"}, "notify_new_device_sign_in")]:
        with pytest.raises(DomainError) as refused:
            organization_settings_update(org=org, actor=org_admin, **changes)
        assert refused.value.field == field
    with pytest.raises(TypeError):
        organization_settings_update(org=org, actor=org_admin, slug="evil")
    assert _snapshot(org) == ("Acme Corp", False, "off", None, False)
    assert not AuditEvent.objects.exists()


# ---------------------------------------------------------------- maximum sign-in age in the console


def _age_session(user, minutes: int) -> None:
    UserSession.objects.filter(user=user).update(auth_time=timezone.now() - timedelta(minutes=minutes))


def test_a_sign_in_older_than_the_orgs_limit_must_sign_in_again(org_admin_client, org, org_admin):
    org.session_max_age_minutes = 30
    org.save()
    _age_session(org_admin, 10)
    assert org_admin_client.get("/console/acme/users/").status_code == 200

    _age_session(org_admin, 31)
    response = org_admin_client.get("/console/acme/users/?q=ann")
    assert response.status_code == 302
    assert response["Location"] == "/login?prompt=login&next=/console/acme/users/%3Fq%3Dann"
    # The login page asks even a signed-in browser when prompt=login.
    assert org_admin_client.get(response["Location"]).status_code == 200


def test_no_limit_means_the_platform_session_lifetime_only(org_admin_client, org, org_admin):
    _age_session(org_admin, 60 * 24 * 7)
    assert org_admin_client.get("/console/acme/users/").status_code == 200


def test_the_limit_is_per_org(client, sign_in, org, other_org, org_admin):
    MembershipFactory(org=other_org, user=org_admin, role="admin")
    other_org.session_max_age_minutes = 5
    other_org.save()
    sign_in(org_admin)
    _age_session(org_admin, 10)

    assert client.get("/console/acme/").status_code == 200
    assert client.get("/console/globex/").status_code == 302


def test_the_limit_is_not_revealed_to_outsiders(other_org_admin_client, org, other_org_admin):
    org.session_max_age_minutes = 5
    org.save()
    _age_session(other_org_admin, 10)
    assert other_org_admin_client.get("/console/acme/").status_code == 404


def test_saving_a_short_limit_takes_effect_on_the_next_page(org_admin_client, org, org_admin):
    _age_session(org_admin, 20)
    # Saving settings needs a recent authentication; a step-up confirms it's them without a new sign-in,
    # so the org's limit still counts from the sign-in.
    step_up_mark(org_admin_client)
    org_admin_client.post(URL, {**VALID, "session_max_age_minutes": "15"})
    response = org_admin_client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/login?prompt=login&next=/console/acme/settings/")



# ---------------------------------------------------------------- lockout threshold


def test_the_lockout_threshold_is_saved_and_audited(org_admin_client, org, org_admin):
    page = org_admin_client.get(URL).content.decode()
    assert "Lockout after failed sign-ins" in page
    assert "platform&#x27;s setting (10)" in page

    assert org_admin_client.post(URL, {**VALID, "lockout_threshold": "3"}).status_code == 302

    org.refresh_from_db()
    assert org.lockout_threshold == 3
    event = AuditEvent.objects.get(action="organization.settings_updated")
    assert (event.actor, event.org) == (org_admin, org)
    assert event.metadata["before"]["lockout_threshold"] is None
    assert event.metadata["after"]["lockout_threshold"] == 3

    # Blank: back to the platform's, recorded too.
    org_admin_client.post(URL, {**VALID, "lockout_threshold": ""})
    org.refresh_from_db()
    assert org.lockout_threshold is None
    last = AuditEvent.objects.filter(action="organization.settings_updated").latest("id")
    assert last.metadata == {"before": {"lockout_threshold": 3}, "after": {"lockout_threshold": None}}


@pytest.mark.parametrize(("value", "message"), [("2", "greater than or equal to 3"),
                                                ("51", "less than or equal to 50"),
                                                ("many", "Enter a whole number.")])
def test_a_bad_lockout_threshold_is_a_field_error(org_admin_client, org, value, message):
    response = org_admin_client.post(URL, {**VALID, "lockout_threshold": value})

    assert response.status_code == 200
    assert message in response.context["form"].errors["lockout_threshold"][0]
    org.refresh_from_db()
    assert org.lockout_threshold is None
    assert not AuditEvent.objects.filter(action="organization.settings_updated").exists()


@pytest.mark.parametrize("value", [2, 51, "5", True, 3.5])
def test_the_service_refuses_a_bad_lockout_threshold(org, org_admin, value):
    with pytest.raises(DomainError) as refused:
        organization_settings_update(org=org, actor=org_admin, lockout_threshold=value)
    assert refused.value.field == "lockout_threshold"
    org.refresh_from_db()
    assert org.lockout_threshold is None


def test_auditor_reads_the_lockout_threshold(client, sign_in, org, org_auditor):
    Organization.objects.filter(pk=org.pk).update(lockout_threshold=7)
    page = sign_in(org_auditor).get(URL).content.decode()
    assert 'name="lockout_threshold" value="7"' in page


def test_the_settings_page_has_bounded_queries(org_admin_client, org, django_assert_max_num_queries):
    org_admin_client.get(URL)
    with django_assert_max_num_queries(12):
        assert org_admin_client.get(URL).status_code == 200
