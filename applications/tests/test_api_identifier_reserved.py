"""No org registers an API under Gatehouse's own `<issuer>/api/` but its own management-API address: the
service, the console form and the management API all refuse it, naming the address it may use."""

import pytest
from django.conf import settings
from django.urls import reverse

from api.tests.conftest import ApiClient, new_key
from applications.api_services import api_create, management_api_identifier
from applications.models import Api
from audit.models import AuditEvent
from config.exceptions import DomainError

pytestmark = pytest.mark.django_db

ISSUER = settings.GATEHOUSE_ISSUER
SCOPES = [("members.view", "Read members")]


@pytest.mark.parametrize("identifier", [
    f"{ISSUER}/api/v1/orgs/acme",  # another org's management API
    f"{ISSUER}/api/v1/orgs/acme/",
    f"{ISSUER}/api/v1/orgs/ACME",
    f"{ISSUER.upper()}/api/v1/orgs/acme",
    f"{ISSUER}/%61pi/v1/orgs/acme",
    f"{ISSUER}//api/v1/orgs/acme",
    f"{ISSUER}/x/../api/v1/orgs/acme",
    f"{ISSUER}/api/v1/platform",
    f"{ISSUER}/api",
    f"{ISSUER}/api/v1/orgs/globex/extra",
])
def test_the_service_refuses_any_address_under_the_issuers_api_but_the_orgs_own(other_org, identifier):
    with pytest.raises(DomainError) as refused:
        api_create(org=other_org, name="Squat", identifier=identifier, scopes=SCOPES)
    assert refused.value.field == "identifier"
    assert f"only its own: {ISSUER}/api/v1/orgs/globex" in refused.value.message
    assert not Api.objects.exists()
    assert not AuditEvent.objects.filter(action="api.created").exists()


def test_the_orgs_own_management_api_and_other_paths_of_the_issuer_are_allowed(org):
    own = api_create(org=org, name="Acme management API", identifier=management_api_identifier("acme"), scopes=SCOPES)
    assert own.api.identifier == f"{ISSUER}/api/v1/orgs/acme"
    elsewhere = api_create(org=org, name="Apiary", identifier=f"{ISSUER}/apiary", scopes=[("bees", "Bees")])
    assert elsewhere.api.identifier.endswith("/apiary")


def test_the_console_form_shows_the_error_beside_the_field_and_keeps_the_input(org, other_org_admin_client):
    page = reverse("console:api-create", args=["globex"])
    form = other_org_admin_client.get(page)
    response = other_org_admin_client.post(page, {
        "name": "Acme's", "identifier": f"{ISSUER}/api/v1/orgs/acme", "description": "",
        "scopes": "members.view — Read members", "token_format": "jwt", "access_token_lifetime": "600",
        "submit_once": form.context["submit_once"]})
    assert response.status_code == 200
    assert response.context["form"].errors["identifier"] == [
        f"Addresses under {ISSUER}/api/ belong to Gatehouse's management API. This organization may register only "
        f"its own: {ISSUER}/api/v1/orgs/globex."]
    assert f'value="{ISSUER}/api/v1/orgs/acme"' in response.content.decode()
    assert not Api.objects.exists()


def test_the_management_api_answers_400_naming_the_field(other_org, other_org_admin):
    client = ApiClient(new_key(other_org, other_org_admin, {"applications.view", "applications.manage"}))
    response = client.post("/api/v1/orgs/globex/apis", {
        "name": "Acme's", "identifier": f"{ISSUER}/api/v1/orgs/acme",
        "scopes": [{"name": "members.view", "description": "Read members"}]})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    error = response.json()["errors"][0]
    assert error["field"] == "identifier"
    assert "belong to Gatehouse's management API" in error["detail"]
    assert not Api.objects.exists()
