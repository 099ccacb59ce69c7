"""Every operation of the live schema, with each kind of refused credential: never a 2xx, never a 5xx, always
problem+json, and nothing written."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from api.tests.conftest import ApiClient, new_key
from applications.apikey_services import api_key_deactivate, api_key_revoke
from applications.models import ApiKey
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def operations() -> list[tuple[str, str]]:
    schema = Client().get("/api/v1/schema").json()
    return [(method.upper(), re.sub(r"\{[^}]+\}", lambda m: "acme" if m.group(0) in ("{org_slug}", "{slug}") else "1",
                                     path))
            for path, item in schema["paths"].items() for method in item if method in
            ("get", "post", "put", "patch", "delete")]


def refused_keys(org, admin) -> dict[str, tuple[str, int]]:
    scopes = {"members.view", "members.manage", "groups.view", "groups.manage", "applications.view",
              "applications.manage", "apikeys.view", "apikeys.manage", "audit.view", "email.view", "email.manage",
              "settings.manage", "org.view"}
    expired = new_key(org, admin, scopes, expires_at=timezone.now() + timedelta(hours=1))
    ApiKey.objects.filter(prefix=expired[:20]).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked = new_key(org, admin, scopes)
    api_key_revoke(api_key=ApiKey.objects.get(prefix=revoked[:20]), actor=admin, request=None)
    paused = new_key(org, admin, scopes)
    api_key_deactivate(api_key=ApiKey.objects.get(prefix=paused[:20]), actor=admin, request=None)
    elsewhere = new_key(org, admin, scopes, allowed_ips=["192.0.2.0/24"])
    return {"expired": (expired, 401), "revoked": (revoked, 401), "deactivated": (paused, 401),
            "ip-refused": (elsewhere, 403), "malformed": ("ghk_nope", 401), "no key": (None, 401)}


def test_every_operation_refuses_every_refused_key(org, org_admin):
    keys = refused_keys(org, org_admin)
    before = AuditEvent.objects.count()
    checked = 0
    for method, path in operations():
        for name, (raw, status) in keys.items():
            client = ApiClient(raw)
            response = client.client.generic(method, path, "{}", content_type="application/json",
                                             headers=client._headers(None))
            assert response.status_code == status, (name, method, path, response.status_code, response.content)
            assert response["Content-Type"] == "application/problem+json"
            checked += 1
    assert checked > 40 * len(keys)
    assert AuditEvent.objects.count() == before


def test_every_org_operation_is_404_for_another_orgs_key(org, other_org, other_org_admin, org_admin):
    foreign = ApiClient(new_key(other_org, other_org_admin, {"members.view", "members.manage", "groups.view",
                                                              "groups.manage", "applications.view",
                                                              "applications.manage", "apikeys.view", "apikeys.manage",
                                                              "audit.view", "email.view", "email.manage",
                                                              "settings.manage", "org.view"}))
    before = AuditEvent.objects.count()
    org_paths = [(method, path) for method, path in operations() if path.startswith("/api/v1/orgs/acme")]
    assert len(org_paths) > 40
    for method, path in org_paths:
        response = foreign.client.generic(method, path, "{}", content_type="application/json",
                                          headers=foreign._headers(None))
        assert response.status_code == 404, (method, path, response.content)
        assert response.json()["detail"] == "No such organization."
    assert AuditEvent.objects.count() == before
