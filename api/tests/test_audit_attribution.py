"""The audit rows of API writes name the key (or application) that made them, and the console shows it."""

import json

import pytest
from django.urls import reverse

from api.tests.conftest import ApiClient
from api.tests.test_tokens import management_api, token_for  # noqa: F401 (a fixture)
from applications.api_services import application_api_scopes_set
from applications.apikey_services import api_key_create
from applications.services import application_create
from audit.models import AuditEvent
from orgs.permissions import ROLE_PERMISSIONS

pytestmark = pytest.mark.django_db


@pytest.fixture
def deploy_key(org, org_admin):
    return api_key_create(org=org, actor=org_admin, request=None, name="deploy bot",
                          scopes=sorted(ROLE_PERMISSIONS["admin"]))


def test_a_keys_write_is_recorded_with_the_keys_id_name_and_prefix_never_its_secret(org, org_admin, deploy_key):
    key, raw = deploy_key
    response = ApiClient(raw).post("/api/v1/orgs/acme/groups", {"name": "Ops"})
    assert response.status_code == 201, response.content
    event = AuditEvent.objects.get(org=org, action="group.created")
    assert event.actor == org_admin  # the key still acts for its creator
    assert event.metadata["api_credential"] == {"kind": "api_key", "id": key.pk, "name": "deploy bot",
                                                "prefix": key.prefix}
    secret = raw.removeprefix(key.prefix)
    assert secret not in json.dumps(event.metadata)
    # The API's own audit endpoint shows it too.
    shown = ApiClient(raw).get(f"/api/v1/orgs/acme/audit-events/{event.pk}")
    assert shown.status_code == 200
    assert shown.json()["metadata"]["api_credential"]["prefix"] == key.prefix


def test_the_console_event_detail_says_which_key_acted(org, org_admin_client, deploy_key):
    key, raw = deploy_key
    assert ApiClient(raw).post("/api/v1/orgs/acme/groups", {"name": "Ops"}).status_code == 201
    event = AuditEvent.objects.get(org=org, action="group.created")
    page = org_admin_client.get(reverse("console:audit-detail", kwargs={"org_slug": "acme", "pk": event.pk}))
    assert page.status_code == 200
    assert f"via API key deploy bot ({key.prefix})" in page.content.decode()


def test_a_console_write_names_no_key(org, org_admin_client):
    response = org_admin_client.post(reverse("console:group-create", kwargs={"org_slug": "acme"}),
                                     {"name": "Ops", "description": ""})
    assert response.status_code == 302
    event = AuditEvent.objects.get(org=org, action="group.created")
    assert "api_credential" not in event.metadata
    page = org_admin_client.get(reverse("console:audit-detail", kwargs={"org_slug": "acme", "pk": event.pk}))
    assert "via API key" not in page.content.decode()


def test_an_applications_token_is_recorded_as_that_application(org, management_api):  # noqa: F811
    machine = application_create(org=org, name="Group sync", kind="machine")
    application_api_scopes_set(application=machine.application,
                               scopes=list(management_api.scopes.filter(name="groups.manage")))
    token = token_for(machine.application.client_id, machine.client_secret, resource=management_api.identifier)
    response = ApiClient(token).post("/api/v1/orgs/acme/groups", {"name": "Ops"})
    assert response.status_code == 201, response.content
    event = AuditEvent.objects.get(org=org, action="group.created")
    assert event.actor is None  # an application's token acts as the system
    assert event.metadata["api_credential"] == {"kind": "client", "id": machine.application.pk,
                                                "name": "Group sync", "client_id": machine.application.client_id}
