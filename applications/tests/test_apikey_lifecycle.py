"""Deactivating, reactivating and deleting API keys in the console: audited, tenant-scoped, and the API obeys."""

import pytest
from django.test import Client
from django.urls import reverse

from api.tests.conftest import ApiClient
from applications.apikey_services import api_key_create, api_key_deactivate, api_key_revoke
from applications.models import ApiKey
from audit.models import AuditEvent
from config.exceptions import NotAllowed
from identity.templatetags.when import when

pytestmark = pytest.mark.django_db

USERS = "/api/v1/orgs/acme/users"


def url(name, org, *args):
    return reverse(f"console:{name}", args=[org.slug, *args])


@pytest.fixture
def key_and_raw(org, org_admin):
    return api_key_create(org=org, actor=org_admin, request=None, name="HR sync", scopes=["members.view"])


def test_deactivate_then_reactivate_from_the_console(org_admin_client, org, org_admin, key_and_raw):
    key, raw = key_and_raw
    assert ApiClient(raw).get(USERS).status_code == 200
    response = org_admin_client.post(url("apikey-deactivate", org, key.pk), {"confirmed": "1"}, follow=True)
    assert "Deactivated the key HR sync" in response.content.decode()
    assert "Deactivated</span>" in response.content.decode()
    assert ApiClient(raw).get(USERS).status_code == 401
    event = AuditEvent.objects.get(action="api_key.deactivated")
    assert event.actor == org_admin
    assert event.metadata == {"name": "HR sync", "prefix": key.prefix}
    response = org_admin_client.post(url("apikey-reactivate", org, key.pk), follow=True)
    assert "Reactivated the key HR sync" in response.content.decode()
    assert ApiClient(raw).get(USERS).status_code == 200
    assert AuditEvent.objects.filter(action="api_key.reactivated").count() == 1


def test_pausing_twice_writes_once_and_a_revoked_key_stays_revoked(org, org_admin, key_and_raw):
    key = key_and_raw[0]
    api_key_deactivate(api_key=key, actor=org_admin, request=None)
    api_key_deactivate(api_key=key, actor=org_admin, request=None)
    assert AuditEvent.objects.filter(action="api_key.deactivated").count() == 1
    api_key_revoke(api_key=key, actor=org_admin, request=None)
    with pytest.raises(NotAllowed, match="revoked"):
        api_key_deactivate(api_key=key, actor=org_admin, request=None)


def test_delete_confirms_then_removes_the_key_and_audits_it(org_admin_client, org, org_admin, key_and_raw):
    key, raw = key_and_raw
    confirm = org_admin_client.get(url("apikey-delete", org, key.pk))
    assert confirm.status_code == 200
    assert "Delete the API key HR sync?" in confirm.content.decode()
    response = org_admin_client.post(url("apikey-delete", org, key.pk), follow=True)
    assert "Deleted the key HR sync" in response.content.decode()
    assert not ApiKey.objects.exists()
    assert ApiClient(raw).get(USERS).status_code == 401
    event = AuditEvent.objects.get(action="api_key.deleted")
    assert event.target_id == str(key.pk)
    assert event.metadata["prefix"] == key.prefix


@pytest.mark.parametrize("page", ["apikey-revoke", "apikey-delete"])
def test_the_confirmation_says_what_changes_and_when_the_key_was_last_used(org_admin_client, org, key_and_raw, page):
    key, raw = key_and_raw
    before = org_admin_client.get(url(page, org, key.pk)).content.decode()
    assert '<h2 id="impact-heading">What changes</h2>' in before
    assert "It has never been used." in before

    assert ApiClient(raw).get(USERS).status_code == 200
    key.refresh_from_db()
    after = org_admin_client.get(url(page, org, key.pk)).content.decode()
    assert "It has never been used." not in after
    assert f"It was last used on {when(key.last_used_at)}, from 127.0.0.1." in after


def test_the_auditor_and_another_orgs_admin_can_do_none_of_it(sign_in, org, org_auditor, other_org_admin_client,
                                                             key_and_raw):
    key = key_and_raw[0]
    auditor = sign_in(org_auditor, Client())
    for name in ("apikey-deactivate", "apikey-reactivate", "apikey-delete"):
        assert auditor.post(url(name, org, key.pk), {"confirmed": "1"}).status_code == 403
        assert other_org_admin_client.post(url(name, org, key.pk), {"confirmed": "1"}).status_code == 404
    key.refresh_from_db()
    assert key.deactivated_at is None
    assert not AuditEvent.objects.filter(action__in=["api_key.deactivated", "api_key.deleted"]).exists()


def test_the_pages_say_the_api_accepts_keys(org_admin_client, org):
    listing = org_admin_client.get(url("apikey-list", org)).content.decode()
    assert 'href="/api/docs"' in listing
    created = org_admin_client.post(url("apikey-create", org), {"name": "Job", "scopes": ["members.view"],
                                                                 "expires_on": "", "allowed_ips": "",
                                                                 "application": ""}).content.decode()
    assert "not available yet" not in created
    assert "Authorization: Bearer" in created
