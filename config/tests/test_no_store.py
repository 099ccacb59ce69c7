"""`Cache-Control: no-store` on every response that carries tokens or personal data; responses that
may be cached (discovery, JWKS, branding assets, static files) keep their own caching."""

import base64
import secrets
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from applications.models import Application
from identity.tests.oidc_support import make_machine_app, make_web_app

pytestmark = pytest.mark.django_db


def directives(response) -> set[str]:
    return {part.strip() for part in response["Cache-Control"].split(",")}


def _access_token(user, org) -> str:
    app = Application.objects.get(client_id=make_web_app(org).client_id)
    return get_access_token_model().objects.create(
        user=user, application=app, scope="openid profile email", expires=timezone.now() + timedelta(hours=1),
        token=secrets.token_urlsafe(30)).token


def test_userinfo_is_not_stored(client, org, org_member):
    response = client.get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {_access_token(org_member, org)}")
    assert response.status_code == 200
    assert response.json()["email"] == "member@acme.test"
    assert directives(response) == {"no-store"}


def test_introspection_is_not_stored(client, org, org_member):
    token = _access_token(org_member, org)
    machine = make_machine_app(org)
    basic = base64.b64encode(f"{machine.client_id}:{machine.client_secret}".encode()).decode()
    response = client.post("/oauth/introspect", {"token": token}, HTTP_AUTHORIZATION=f"Basic {basic}")
    assert response.status_code == 200
    assert response.json()["active"] is True
    assert directives(response) == {"no-store"}


def test_a_refused_introspection_is_not_stored_either(client):
    response = client.post("/oauth/introspect", {"token": "x"})
    assert response.status_code == 401
    assert directives(response) == {"no-store"}


def test_console_page_is_not_stored(org_admin_client, org):
    response = org_admin_client.get("/console/acme/")
    assert response.status_code == 200
    assert "Acme Corp" in response.content.decode()
    assert directives(response) == {"no-store"}


def test_users_export_is_not_stored(org_admin_client, org):
    response = org_admin_client.get("/console/acme/imports/export.csv")
    assert response.status_code == 200
    assert "admin@acme.test" in b"".join(response.streaming_content).decode("utf-8-sig")
    assert directives(response) == {"no-store"}


def test_account_page_is_not_stored(client, sign_in, org_member):
    response = sign_in(org_member).get("/account/")
    assert response.status_code == 200
    assert "member@acme.test" in response.content.decode()
    assert "no-store" in directives(response)


def test_pages_without_personal_data_are_not_stored_either(client):
    assert directives(client.get("/login")) >= {"no-store"}
    assert directives(client.get("/no-such-page")) == {"no-store"}


def test_discovery_and_jwks_keep_their_public_max_age(client):
    assert directives(client.get("/.well-known/openid-configuration")) == {"public", "max-age=3600"}
    jwks = client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    assert "public" in directives(jwks)
    assert "no-store" not in directives(jwks)


def test_static_files_keep_whitenoises_caching(client):
    response = client.get("/static/console/branding.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
