"""The per-org "require an IP allow-list on API keys": set in the console or the API (audited); while on, no key
is created without a list (console and API) and a key without one is refused with a 403 that says why. The
platform's GATEHOUSE_API_KEYS_REQUIRE_ALLOWLIST holds whatever the org says."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from api.tests.conftest import ApiClient, new_key
from api.tests.test_authentication import problem
from applications.models import ApiKey
from audit.models import AuditEvent
from orgs.models import Organization

pytestmark = pytest.mark.django_db

SETTINGS = "/api/v1/orgs/acme/settings"
KEYS = "/api/v1/orgs/acme/api-keys"
USERS = "/api/v1/orgs/acme/users"
CONSOLE_SETTINGS = "/console/acme/settings/"
CONSOLE_SETTINGS_FORM = {"name": "Acme Corp", "mfa_policy": "off", "mfa_grace_days": "7", "min_length": "12",
                         "history_count": "0"}
ORG_REQUIRES = "Acme Corp requires every API key to have an IP allow-list"


def require(org, on=True):
    Organization.objects.filter(pk=org.pk).update(api_keys_require_allowlist=on)
    org.refresh_from_db()


@pytest.fixture
def settings_api(org, org_admin):
    return ApiClient(new_key(org, org_admin, {"org.view", "settings.manage", "apikeys.view", "apikeys.manage",
                                              "members.view"}, allowed_ips=["127.0.0.1/32"]))


def test_the_api_reads_and_switches_it_with_an_audit_row(org, org_admin, settings_api):
    assert settings_api.get(SETTINGS).json()["api_keys_require_allowlist"] is False
    response = settings_api.patch(SETTINGS, {"api_keys_require_allowlist": True})
    assert response.status_code == 200, response.content
    assert response.json()["api_keys_require_allowlist"] is True
    org.refresh_from_db()
    assert org.api_keys_require_allowlist is True
    event = AuditEvent.objects.get(action="organization.settings_updated")
    assert event.actor == org_admin
    assert (event.metadata["before"], event.metadata["after"]) == ({"api_keys_require_allowlist": False},
                                                                   {"api_keys_require_allowlist": True})


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_a_value_that_is_not_a_boolean_is_400_naming_the_field(org, settings_api, value):
    body = problem(settings_api.patch(SETTINGS, {"api_keys_require_allowlist": value}), 400)
    assert body["errors"][0]["field"] == "api_keys_require_allowlist"
    org.refresh_from_db()
    assert org.api_keys_require_allowlist is False


def test_the_console_settings_page_switches_it(org, org_admin_client):
    page = org_admin_client.get(CONSOLE_SETTINGS).content.decode()
    assert "Require an IP allow-list on every API key" in page
    response = org_admin_client.post(CONSOLE_SETTINGS, {**CONSOLE_SETTINGS_FORM, "api_keys_require_allowlist": "on"})
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    org.refresh_from_db()
    assert org.api_keys_require_allowlist is True
    assert AuditEvent.objects.filter(action="organization.settings_updated",
                                     metadata__after__api_keys_require_allowlist=True).exists()


def test_while_on_the_api_refuses_a_key_without_a_list_and_makes_one_with(org, settings_api):
    require(org)
    before = ApiKey.objects.count()
    body = problem(settings_api.post(KEYS, {"name": "Job", "scopes": ["members.view"]}), 400)
    assert body["errors"][0]["field"] == "allowed_ips"
    assert ORG_REQUIRES in body["errors"][0]["detail"]
    assert ApiKey.objects.count() == before
    assert not AuditEvent.objects.filter(action="api_key.created", metadata__name="Job").exists()
    made = settings_api.post(KEYS, {"name": "Job", "scopes": ["members.view"], "allowed_ips": ["127.0.0.1"]})
    assert made.status_code == 201, made.content
    assert ApiClient(made.json()["key"]).get(USERS).status_code == 200


def test_while_on_the_console_shows_the_error_beside_the_field_and_creates_nothing(org, org_admin_client):
    assert "IP allow-list (optional)" in org_admin_client.get("/console/acme/api-keys/new").content.decode()
    require(org)
    form = org_admin_client.get("/console/acme/api-keys/new").content.decode()
    assert "IP allow-list (optional)" not in form
    assert "Required: every API key here must list the addresses it is used from." in form
    response = org_admin_client.post("/console/acme/api-keys/new", {
        "name": "Payroll export", "scopes": ["members.view"], "expires_on": "", "allowed_ips": "",
        "application": ""})
    assert response.status_code == 200
    assert response.context["form"].errors["allowed_ips"] == [
        "Every API key here must have an IP allow-list: list the addresses or networks (CIDR) this key is used from."]
    assert 'value="Payroll export"' in response.content.decode()
    assert not ApiKey.objects.exists()
    made = org_admin_client.post("/console/acme/api-keys/new", {
        "name": "Payroll export", "scopes": ["members.view"], "expires_on": "", "allowed_ips": "192.0.2.0/24",
        "application": ""})
    assert made.status_code == 200
    assert ApiKey.objects.get().allowed_ips == ["192.0.2.0/24"]


def test_while_on_a_key_without_a_list_is_refused_with_the_reason(org, other_org, org_admin, other_org_admin):
    unlisted = new_key(org, org_admin, {"members.view"})
    listed = new_key(org, org_admin, {"members.view"}, allowed_ips=["127.0.0.1"])
    elsewhere = new_key(other_org, other_org_admin, {"members.view"})
    assert ApiClient(unlisted).get(USERS).status_code == 200
    require(org)
    body = problem(ApiClient(unlisted).get(USERS), 403, "address_refused")
    assert body["detail"] == ("This organization requires every API key to have an IP allow-list, and this key has "
                              "none, so no address may use it. Create a key that lists the addresses it is used "
                              "from.")
    assert ApiClient(listed).get(USERS).status_code == 200
    # Another org's keys are not affected by this org's switch.
    assert ApiClient(elsewhere).get("/api/v1/orgs/globex/users").status_code == 200
    require(org, on=False)
    assert ApiClient(unlisted).get(USERS).status_code == 200


def test_the_platform_requirement_wins_over_an_org_that_is_off(org, org_admin, settings_api):
    unlisted = new_key(org, org_admin, {"members.view"})
    with override_settings(GATEHOUSE_API_KEYS_REQUIRE_ALLOWLIST=True):
        assert Organization.objects.get(pk=org.pk).api_keys_require_allowlist is False
        body = problem(ApiClient(unlisted).get(USERS), 403, "address_refused")
        assert body["detail"].startswith("This Gatehouse requires every API key to have an IP allow-list")
        refused = problem(settings_api.post(KEYS, {"name": "Job", "scopes": ["members.view"]}), 400)
        assert refused["errors"][0]["field"] == "allowed_ips"
        assert settings_api.get(USERS).status_code == 200


def test_manage_py_refuses_a_key_without_a_list_for_such_an_org(org):
    require(org)
    with pytest.raises(CommandError) as refused:
        call_command("create_api_key", "--org", "acme", "--name", "Nightly", "--scopes", "members.view",
                     stdout=io.StringIO())
    assert refused.value.returncode == 2
    assert ORG_REQUIRES in str(refused.value)
    assert not ApiKey.objects.exists()
    call_command("create_api_key", "--org", "acme", "--name", "Nightly", "--scopes", "members.view",
                 "--allow-ip", "192.0.2.0/24", stdout=io.StringIO())
    assert ApiKey.objects.get().allowed_ips == ["192.0.2.0/24"]
