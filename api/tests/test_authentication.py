"""Who may call the API: keys in either header, refused keys (401/403), rate limits (429), problem+json."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from api.tests.conftest import ApiClient, new_key
from applications.apikey_services import api_key_deactivate, api_key_revoke
from applications.models import ApiKey
from applications.services import application_create, application_disable
from orgs.services import membership_role_change

pytestmark = pytest.mark.django_db

USERS = "/api/v1/orgs/acme/users"


def problem(response, status, code=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["type"] == "about:blank"
    if code:
        assert body["code"] == code, body
    return body


@pytest.mark.parametrize("header", ["bearer", "x-api-key"])
def test_a_key_in_either_header_lists_users(org, org_admin, header):
    raw = new_key(org, org_admin, {"members.view"})
    response = ApiClient(raw, header=header).get(USERS)
    assert response.status_code == 200
    assert [row["email"] for row in response.json()["data"]] == ["admin@acme.test"]
    key = ApiKey.objects.get()
    assert key.last_used_ip == "127.0.0.1"
    assert key.last_used_at is not None


def test_no_key_is_401_with_a_bearer_challenge(org):
    response = ApiClient().get(USERS)
    problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("raw", ["ghk_nope", "Basic abc", "ghk_" + "0" * 16 + "_" + "0" * 64])
def test_a_malformed_or_unknown_key_is_401(org, raw):
    problem(ApiClient(raw).get(USERS), 401, "key_invalid")


def test_a_wrong_secret_is_401_and_says_nothing_more(org, org_admin):
    raw = new_key(org, org_admin, {"members.view"})
    body = problem(ApiClient(raw[:-1] + ("0" if raw[-1] != "0" else "1")).get(USERS), 401, "key_invalid")
    assert body["detail"] == "The API key is not valid."


def test_expired_revoked_and_deactivated_keys_are_401(org, org_admin):
    expired = new_key(org, org_admin, {"members.view"}, expires_at=timezone.now() + timedelta(hours=1))
    ApiKey.objects.filter(prefix=expired[:20]).update(expires_at=timezone.now() - timedelta(seconds=1))
    revoked = new_key(org, org_admin, {"members.view"})
    api_key_revoke(api_key=ApiKey.objects.get(prefix=revoked[:20]), actor=org_admin, request=None)
    paused = new_key(org, org_admin, {"members.view"})
    api_key_deactivate(api_key=ApiKey.objects.get(prefix=paused[:20]), actor=org_admin, request=None)
    problem(ApiClient(expired).get(USERS), 401, "key_expired")
    problem(ApiClient(revoked).get(USERS), 401, "key_revoked")
    problem(ApiClient(paused).get(USERS), 401, "key_deactivated")
    assert not ApiKey.objects.filter(last_used_at__isnull=False).exists()


def test_a_key_of_a_suspended_org_or_disabled_application_is_401(org, org_admin):
    app = application_create(org=org, name="Sync", kind="machine").application
    bound = new_key(org, org_admin, {"members.view"}, application=app)
    assert ApiClient(bound).get(USERS).status_code == 200
    application_disable(application=app, actor=org_admin, request=None)
    problem(ApiClient(bound).get(USERS), 401, "key_app_disabled")
    raw = new_key(org, org_admin, {"members.view"})
    org.status = org.Status.SUSPENDED
    org.save(update_fields=["status"])
    problem(ApiClient(raw).get(USERS), 401, "key_org_suspended")


def test_an_address_outside_the_allow_list_is_403(org, org_admin):
    raw = new_key(org, org_admin, {"members.view"}, allowed_ips=["192.0.2.0/24"])
    problem(ApiClient(raw).get(USERS), 403, "address_refused")
    assert ApiClient(raw).get(USERS, REMOTE_ADDR="192.0.2.9").status_code == 200


def test_required_allow_listing_refuses_a_key_without_a_list(org, org_admin):
    # Made before the platform came to require lists (creating one now is refused: test_allowlist_required.py).
    unlisted = new_key(org, org_admin, {"members.view"})
    with override_settings(GATEHOUSE_API_KEYS_REQUIRE_ALLOWLIST=True):
        problem(ApiClient(unlisted).get(USERS), 403, "address_refused")
        listed = new_key(org, org_admin, {"members.view"}, allowed_ips=["127.0.0.1"])
        assert ApiClient(listed).get(USERS).status_code == 200


def test_a_scope_the_key_lacks_is_403_naming_it(org, org_admin):
    raw = new_key(org, org_admin, {"groups.view"})
    body = problem(ApiClient(raw).get(USERS), 403, "missing_scope")
    assert "members.view" in body["detail"]


def test_a_key_never_holds_more_than_its_creator_holds_now(org, org_owner, org_admin):
    raw = new_key(org, org_admin, {"members.view"})
    assert ApiClient(raw).get(USERS).status_code == 200
    membership = org_admin.memberships.get(org=org)
    membership_role_change(membership=membership, role="member", actor=org_owner)
    problem(ApiClient(raw).get(USERS), 403, "missing_scope")


def test_another_orgs_key_gets_404_even_for_a_scope_it_lacks(org, other_org, other_org_admin):
    for scopes in ({"members.view"}, {"groups.view"}):
        body = problem(ApiClient(new_key(other_org, other_org_admin, scopes)).get(USERS), 404, "not_found")
        assert "acme" not in body["detail"].lower()


def test_unknown_paths_and_methods_are_problems(api):
    problem(api.get("/api/v1/nothing-here"), 404, "not_found")
    response = api.put(USERS, {})
    problem(response, 405, "method_not_allowed")
    assert "GET" in response["Allow"]


@override_settings(GATEHOUSE_API_RATE_LIMIT_PER_KEY=3)
def test_the_per_key_limit_answers_429_with_retry_after(org, org_admin):
    client = ApiClient(new_key(org, org_admin, {"members.view"}))
    remaining = [int(client.get(USERS)["RateLimit-Remaining"]) for _ in range(3)]
    assert remaining == [2, 1, 0]
    refused = client.get(USERS)
    problem(refused, 429, "rate_limited")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused["RateLimit-Limit"] == "3"
    assert refused["RateLimit-Remaining"] == "0"
    assert refused["RateLimit-Policy"] == "3;w=60"
    # Another key from the same address is not held back by this one's limit.
    assert ApiClient(new_key(org, org_admin, {"members.view"})).get(USERS).status_code == 200


@override_settings(GATEHOUSE_API_RATE_LIMIT_PER_IP=2)
def test_the_per_ip_limit_holds_before_any_key_is_checked(org):
    client = ApiClient("ghk_guess")
    assert [client.get(USERS).status_code for _ in range(2)] == [401, 401]
    refused = client.get(USERS)
    problem(refused, 429, "rate_limited")
    assert refused["Retry-After"]
    assert ApiClient("ghk_guess").get(USERS, REMOTE_ADDR="198.51.100.1").status_code == 401


@override_settings(GATEHOUSE_API_MAX_BODY_BYTES=100)
def test_an_oversized_body_is_413_and_changes_nothing(api, org):
    response = api.post(USERS, {"email": "big@x.test", "full_name": "x" * 200})
    problem(response, 413, "body_too_large")
    assert not org.memberships.filter(user__email="big@x.test").exists()


def test_the_docs_page_and_schema_are_served(client):
    schema = client.get("/api/v1/schema")
    assert schema.status_code == 200
    assert "/api/v1/orgs/{org_slug}/users" in schema.json()["paths"]
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<style>" not in html
    assert "<script>" not in html
    assert "swagger-ui-bundle.js" in html
    script = client.get("/api/docs?script=")
    assert script.status_code == 200
    assert "/api/v1/schema" in script.content.decode()


def test_a_method_an_address_never_takes_is_405_whoever_asks(api, org):
    for client in (api, ApiClient(), ApiClient("ghk_nope")):
        response = client.client.generic("TRACE", USERS, headers=client._headers(None))
        problem(response, 405, "method_not_allowed")
        problem(client.put("/api/v1/platform/organizations", {}), 405)
    problem(api.client.generic("TRACE", "/api/v1/nowhere"), 404)
