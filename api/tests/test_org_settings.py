"""/api/v1/orgs/{org}/settings: read with org.view, change with settings.manage, audited, never another org's."""

import pytest

from api.tests.conftest import ApiClient, new_key
from api.tests.test_authentication import problem
from audit.models import AuditEvent
from orgs.models import Organization

pytestmark = pytest.mark.django_db

SETTINGS = "/api/v1/orgs/acme/settings"


def test_read_then_change_settings_and_branding_with_if_match(org, org_admin):
    client = ApiClient(new_key(org, org_admin, {"org.view", "settings.manage"}))
    read = client.get(SETTINGS)
    assert read.json()["slug"] == "acme"
    changed = client.patch(SETTINGS, {"lockout_threshold": 5, "accent_color": "#0172AD"},
                           headers={"If-Match": read["ETag"]})
    assert changed.status_code == 200, changed.content
    assert changed.json()["lockout_threshold"] == 5
    assert changed.json()["accent_color"] == "#0172ad"
    assert AuditEvent.objects.get(action="organization.settings_updated").actor == org_admin
    assert AuditEvent.objects.filter(action="organization.branding_updated").count() == 1
    problem(client.patch(SETTINGS, {"lockout_threshold": 6}, headers={"If-Match": read["ETag"]}), 412)
    assert Organization.objects.get(pk=org.pk).lockout_threshold == 5


@pytest.mark.parametrize(("payload", "field"), [
    ({"lockout_threshold": 1}, "lockout_threshold"), ({"mfa_policy": "always"}, "mfa_policy"),
    ({"name": ""}, "name"), ({"accent_color": "red"}, "accent_color"), ({"slug": "new"}, "slug"),
    ({"notify_new_device_sign_in": "true"}, "notify_new_device_sign_in"),
    ({"lockout_threshold": 5, "accent_color": "blue"}, "accent_color"),
])
def test_bad_settings_are_400_and_change_nothing(org, org_admin, payload, field):
    client = ApiClient(new_key(org, org_admin, {"org.view", "settings.manage"}))
    body = problem(client.patch(SETTINGS, payload), 400)
    assert body["errors"][0]["field"] == field
    assert Organization.objects.get(pk=org.pk).lockout_threshold is None
    assert not AuditEvent.objects.filter(action__startswith="organization.").exclude(
        action="organization.created").exists()


def test_scopes_and_tenancy(org, org_auditor, other_org, other_org_admin):
    auditor = ApiClient(new_key(org, org_auditor, {"org.view"}))
    assert auditor.get(SETTINGS).status_code == 200
    problem(auditor.patch(SETTINGS, {"lockout_threshold": 5}), 403, "missing_scope")
    other = ApiClient(new_key(other_org, other_org_admin, {"org.view", "settings.manage"}))
    problem(other.get(SETTINGS), 404)
    problem(other.patch(SETTINGS, {"name": "Hijacked"}), 404)
    assert Organization.objects.get(pk=org.pk).name == "Acme Corp"


POLICY = "/api/v1/orgs/acme/password-policy"


def test_password_policy_read_and_change(org, org_admin, org_auditor):
    client = ApiClient(new_key(org, org_admin, {"org.view", "settings.manage"}))
    read = client.get(POLICY)
    assert read.json() == {"min_length": 12, "check_common": True, "history_count": 0, "max_age_days": None}
    changed = client.patch(POLICY, {"min_length": 16}, headers={"If-Match": read["ETag"]})
    assert changed.status_code == 200, changed.content
    assert changed.json()["min_length"] == 16
    assert AuditEvent.objects.get(action="password_policy.updated").actor == org_admin
    problem(client.patch(POLICY, {"min_length": 8}), 400)
    problem(client.patch(POLICY, {"history_count": 3}, headers={"If-Match": read["ETag"]}), 412)
    problem(ApiClient(new_key(org, org_auditor, {"org.view"})).patch(POLICY, {"min_length": 20}), 403)
    assert client.get(POLICY).json()["min_length"] == 16
