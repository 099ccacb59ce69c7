"""A machine application's client-credentials token for the org's management API is accepted like a key."""

import base64

import pytest
from django.conf import settings
from django.test import Client

from api.tests.conftest import ApiClient, new_key
from api.tests.test_authentication import problem
from applications.api_services import api_create, application_api_scopes_set
from applications.models import Api, ApiScope
from applications.services import application_create, application_disable
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

USERS = "/api/v1/orgs/acme/users"


def token_for(client_id: str, secret: str, **params) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    response = Client().post("/oauth/token", {"grant_type": "client_credentials", **params},
                             headers={"Authorization": f"Basic {basic}"})
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


@pytest.fixture
def management_api(org):
    return api_create(org=org, name="Acme management API", identifier=f"{settings.GATEHOUSE_ISSUER}/api/v1/orgs/acme",
                      scopes=[("members.view", "Read members"), ("groups.manage", "Manage groups"),
                              ("owners.manage", "Owners")]).api


@pytest.fixture
def machine(org, management_api):
    created = application_create(org=org, name="HR sync", kind="machine")
    application_api_scopes_set(application=created.application,
                               scopes=list(management_api.scopes.filter(name__in=["members.view", "owners.manage"])))
    return created


def test_a_token_lists_users_and_syncs_as_the_application(org, org_member, machine, management_api):
    token = token_for(machine.application.client_id, machine.client_secret, resource=management_api.identifier)
    client = ApiClient(token)
    response = client.get(USERS)
    assert response.status_code == 200, response.content
    assert "member@acme.test" in {row["email"] for row in response.json()["data"]}
    assert client.get("/api/v1/app/users").status_code == 200
    # Scopes it was not granted are not held (nor the owner-only ones even when granted: api/tokens.py).
    problem(client.post("/api/v1/orgs/acme/groups", {"name": "Ops"}), 403, "missing_scope")
    problem(client.patch(f"{USERS}/{org_member.pk}", {"role": "owner"}), 403, "missing_scope")


def test_refused_tokens_are_401(org, other_org, org_admin, machine, management_api):
    token = token_for(machine.application.client_id, machine.client_secret, resource=management_api.identifier)
    problem(ApiClient(token[:-4] + "AAAA").get(USERS), 401, "token_invalid")
    problem(ApiClient("a.b.c").get(USERS), 401, "token_invalid")
    # Another API's token (the right issuer, another audience) is not a management token.
    orders = api_create(org=org, name="Orders", identifier="https://orders.acme.test",
                        scopes=[("orders:read", "R")]).api
    application_api_scopes_set(application=machine.application, scopes=list(orders.scopes.all()))
    other = token_for(machine.application.client_id, machine.client_secret, resource=orders.identifier)
    problem(ApiClient(other).get(USERS), 401, "token_invalid")
    application_disable(application=machine.application, actor=org_admin)
    problem(ApiClient(token).get(USERS), 401, "token_invalid")


def test_a_token_is_bound_to_its_org(org, other_org, machine, management_api):
    token = token_for(machine.application.client_id, machine.client_secret, resource=management_api.identifier)
    problem(ApiClient(token).get("/api/v1/orgs/globex/users"), 404)


def test_an_api_registered_by_another_org_for_this_orgs_address_grants_nothing(org, other_org):
    # api_create refuses such an address now (applications/tests/test_api_identifier_reserved.py); a row
    # written before that refusal existed must still grant nothing.
    squatter = Api.objects.create(org=other_org, name="Not theirs", client_id="api-squatter",
                                  identifier=f"{settings.GATEHOUSE_ISSUER}/api/v1/orgs/acme")
    ApiScope.objects.create(api=squatter, org=other_org, name="members.view", description="Read")
    app = application_create(org=other_org, name="Globex job", kind="machine")
    application_api_scopes_set(application=app.application, scopes=list(squatter.scopes.all()))
    token = token_for(app.application.client_id, app.client_secret, resource=squatter.identifier)
    problem(ApiClient(token).get(USERS), 401, "token_invalid")
    problem(ApiClient(token).get("/api/v1/orgs/globex/users"), 401, "token_invalid")


def test_a_token_cannot_create_api_keys(org, org_admin, management_api):
    app = application_create(org=org, name="Keys job", kind="machine")
    api = management_api
    application_api_scopes_set(application=app.application, scopes=list(api.scopes.all()))
    token = token_for(app.application.client_id, app.client_secret, resource=api.identifier)
    problem(ApiClient(token).post("/api/v1/orgs/acme/api-keys", {"name": "x", "scopes": ["members.view"]}), 403)
    assert not AuditEvent.objects.filter(action="api_key.created").exists()
    assert new_key(org, org_admin, {"members.view"})
