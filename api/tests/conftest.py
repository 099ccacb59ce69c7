"""Fixtures for the management API tests: keys per role, and a client that sends them."""

import pytest
from django.test import Client

from applications.apikey_services import api_key_create
from directory.tests.factories import MembershipFactory, UserFactory
from orgs.permissions import ROLE_PERMISSIONS


class ApiClient:
    """Django's test client speaking JSON with a key in `Authorization: Bearer` (or `X-Api-Key`)."""

    def __init__(self, raw_key: str | None = None, *, header: str = "bearer", client: Client | None = None):
        self.client = client or Client()
        self.raw_key = raw_key
        self.header = header

    def _headers(self, headers: dict | None) -> dict:
        sent = {}
        if self.raw_key is not None:
            if self.header == "bearer":
                sent["Authorization"] = f"Bearer {self.raw_key}"
            else:
                sent["X-Api-Key"] = self.raw_key
        sent.update(headers or {})
        return sent

    def get(self, path, params=None, headers=None, **extra):
        return self.client.get(path, params or {}, headers=self._headers(headers), **extra)

    def _send(self, method, path, body, headers, content_type):
        import json

        data = body if isinstance(body, str | bytes) else json.dumps(body) if body is not None else ""
        return getattr(self.client, method)(path, data=data, content_type=content_type,
                                            headers=self._headers(headers))

    def post(self, path, body=None, headers=None, content_type="application/json"):
        return self._send("post", path, body, headers, content_type)

    def patch(self, path, body=None, headers=None, content_type="application/json"):
        return self._send("patch", path, body, headers, content_type)

    def put(self, path, body=None, headers=None, content_type="application/json"):
        return self._send("put", path, body, headers, content_type)

    def delete(self, path, headers=None):
        return self.client.delete(path, headers=self._headers(headers))


def new_key(org, actor, scopes, **kwargs) -> str:
    kwargs.setdefault("name", "test key")
    return api_key_create(org=org, actor=actor, request=None, scopes=sorted(scopes), **kwargs)[1]


@pytest.fixture
def key_of():
    """key_of(org, role): the raw key of a fresh member in `role` holding every permission of that role."""

    def _key_of(org, role, **kwargs) -> str:
        user = MembershipFactory(org=org, role=role, user=UserFactory()).user
        scopes = ROLE_PERMISSIONS[role] or {"members.view"}
        if not ROLE_PERMISSIONS[role]:
            # A plain member holds nothing, so a key of theirs cannot be made: an operator's key with one view
            # scope stands in for "the least a key may hold".
            return new_key(org, None, {"org.view"}, system=True, **kwargs)
        return new_key(org, user, scopes, **kwargs)

    return _key_of


@pytest.fixture
def api(org, org_owner):
    """An owner's key of `org` holding every scope."""
    return ApiClient(new_key(org, org_owner, ROLE_PERMISSIONS["owner"]))


@pytest.fixture
def other_api(other_org, other_org_admin):
    return ApiClient(new_key(other_org, other_org_admin, ROLE_PERMISSIONS["admin"]))
