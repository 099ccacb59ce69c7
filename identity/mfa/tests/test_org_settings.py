"""The org's days to set up a second factor, and when its MFA policy started covering people."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from orgs.models import Organization

pytestmark = pytest.mark.django_db

URL = "/console/acme/settings/"
VALID = {"name": "Acme Corp", "mfa_policy": "everyone", "mfa_grace_days": "14", "min_length": "12",
         "history_count": "0"}


def test_an_owner_sets_the_grace_days_and_turning_the_policy_on_starts_the_window(client, sign_in, org, org_owner):
    sign_in(org_owner)
    before = timezone.now()

    response = client.post(URL, VALID)

    assert response.status_code == 302
    org.refresh_from_db()
    assert org.mfa_policy == "everyone"
    assert org.mfa_grace_days == 14
    assert before <= org.mfa_required_since <= timezone.now()
    event = AuditEvent.objects.get(action="organization.settings_updated")
    assert event.metadata["after"] == {"mfa_policy": "everyone", "mfa_grace_days": 14}


@pytest.mark.parametrize("days", ["31", "-1", "two", "1.5"])
def test_grace_days_out_of_range_are_a_field_error_and_change_nothing(client, sign_in, org, org_owner, days):
    sign_in(org_owner)

    response = client.post(URL, {**VALID, "mfa_grace_days": days})

    assert response.status_code == 200
    assert "field-error" in response.content.decode()
    org.refresh_from_db()
    assert (org.mfa_policy, org.mfa_grace_days, org.mfa_required_since) == ("off", 7, None)
    assert not AuditEvent.objects.filter(action="organization.settings_updated").exists()


def test_a_submission_without_the_field_keeps_the_stored_days(client, sign_in, org, org_owner):
    sign_in(org_owner)
    Organization.objects.filter(pk=org.pk).update(mfa_grace_days=3)

    client.post(URL, {key: value for key, value in VALID.items() if key != "mfa_grace_days"})

    org.refresh_from_db()
    assert org.mfa_grace_days == 3


def test_narrowing_the_policy_keeps_its_date_and_switching_it_off_clears_it(client, sign_in, org, org_owner):
    sign_in(org_owner)
    since = timezone.now() - timedelta(days=3)
    Organization.objects.filter(pk=org.pk).update(mfa_policy="everyone", mfa_required_since=since)

    client.post(URL, {**VALID, "mfa_policy": "console_roles"})
    org.refresh_from_db()
    assert org.mfa_required_since == since

    client.post(URL, {**VALID, "mfa_policy": "off"})
    org.refresh_from_db()
    assert org.mfa_required_since is None


def test_another_orgs_admin_cannot_change_it(client, sign_in, org, other_org_admin):
    sign_in(other_org_admin)

    assert client.post(URL, VALID).status_code == 404
    org.refresh_from_db()
    assert (org.mfa_policy, org.mfa_grace_days) == ("off", 7)


def test_the_settings_page_shows_the_field(client, sign_in, org, org_owner):
    sign_in(org_owner)

    assert "Days to set up a second factor" in client.get(URL).content.decode()
