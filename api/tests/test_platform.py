"""/api/v1/platform/…: operators' endpoints with a platform key; org keys never reach them, nor they orgs'."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from api.tests.conftest import ApiClient, new_key
from api.tests.test_authentication import problem
from applications.apikey_services import api_key_create
from audit.models import AuditEvent
from audit.services import audit_record
from config.exceptions import NotAllowed
from orgs.models import Organization

pytestmark = pytest.mark.django_db

ORGS = "/api/v1/platform/organizations"


def platform_key(*scopes) -> str:
    out = StringIO()
    call_command("create_api_key", "--platform", "--name", "ops", "--scopes", *scopes, "--json", stdout=out)
    return json.loads(out.getvalue())["key"]


@pytest.fixture
def platform():
    return ApiClient(platform_key("platform.view", "platform.manage"))


def test_create_list_suspend_and_reactivate_organizations(platform, org, other_org):
    created = platform.post(ORGS, {"slug": "initech", "name": "Initech"})
    assert created.status_code == 201, created.content
    assert AuditEvent.objects.get(action="organization.created", org__slug="initech").actor is None
    problem(platform.post(ORGS, {"slug": "initech", "name": "Again"}), 409, "already_exists")
    problem(platform.post(ORGS, {"slug": "api", "name": "Reserved"}), 400)
    first = platform.get(ORGS, {"limit": 2}).json()
    rest = platform.get(ORGS, {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [o["slug"] for o in first["data"] + rest["data"]] == ["acme", "globex", "initech"]
    suspended = platform.post(f"{ORGS}/acme/suspend", {"reason": "unpaid"})
    assert suspended.json()["status"] == "suspended"
    assert AuditEvent.objects.get(action="organization.suspended").metadata["reason"] == "unpaid"
    assert platform.post(f"{ORGS}/acme/reactivate", {}).json()["status"] == "active"
    problem(platform.get(f"{ORGS}/nope"), 404)


def test_the_platform_audit_sees_every_org_and_the_platform(platform, org, other_org):
    audit_record(action="group.created", org=org)
    audit_record(action="group.created", org=other_org)
    audit_record(action="signing_key.rotated", org=None)
    rows = platform.get("/api/v1/platform/audit-events").json()["data"]
    assert {row["org"] for row in rows} >= {"acme", "globex", None}
    only_platform = platform.get("/api/v1/platform/audit-events", {"org": "-"}).json()["data"]
    assert {row["org"] for row in only_platform} == {None}
    problem(platform.get("/api/v1/platform/audit-events", {"org": "nope"}), 400)


def test_a_view_only_platform_key_cannot_write(org):
    viewer = ApiClient(platform_key("platform.view"))
    assert viewer.get(ORGS).status_code == 200
    problem(viewer.post(ORGS, {"slug": "x1", "name": "X"}), 403, "missing_scope")
    problem(viewer.post(f"{ORGS}/acme/suspend", {}), 403, "missing_scope")
    assert Organization.objects.get(slug="acme").status == "active"


def test_org_keys_never_reach_platform_endpoints_and_platform_keys_no_org(org, org_owner, platform):
    owner = ApiClient(new_key(org, org_owner, {"members.view", "org.view"}))
    for path in (ORGS, f"{ORGS}/acme", "/api/v1/platform/audit-events"):
        problem(owner.get(path), 404)
    problem(owner.post(f"{ORGS}/acme/suspend", {}), 404)
    assert Organization.objects.get(slug="acme").status == "active"
    for path in ("/api/v1/orgs/acme/users", "/api/v1/orgs/acme/settings", "/api/v1/app/users"):
        problem(platform.get(path), 404)


def test_platform_keys_only_from_the_command_with_platform_scopes(org, operator):
    with pytest.raises(CommandError, match="platform key holds only"):
        platform_key("members.view")
    with pytest.raises(CommandError, match="no application"):
        call_command("create_api_key", "--platform", "--name", "x", "--scopes", "platform.view", "--app", "a")
    with pytest.raises(NotAllowed):
        api_key_create(org=None, actor=operator, request=None, name="x", scopes=["platform.view"])


@pytest.mark.parametrize("padding", ["\x1f", " ", "\n"])
def test_a_reason_longer_than_its_limit_as_sent_is_refused_even_if_trimming_would_shorten_it(platform, org, padding):
    """The schema says maxLength 500 for the reason as sent; trimmed, 501 characters with a leading space or
    control whitespace came down to 500 and passed (schemathesis found it on reactivate)."""
    reason = padding + "*" * 500
    for action in ("suspend", "reactivate"):
        answer = platform.post(f"{ORGS}/acme/{action}", {"reason": reason})
        problem(answer, 400)
        assert "no more than 500 characters" in json.dumps(answer.json())
    assert Organization.objects.get(slug="acme").status == "active"
    assert not AuditEvent.objects.filter(action__startswith="organization.").exists()
    # At the limit as sent, it is taken, and trimmed as before.
    assert platform.post(f"{ORGS}/acme/suspend", {"reason": " " + "*" * 499}).json()["status"] == "suspended"
    assert AuditEvent.objects.get(action="organization.suspended").metadata["reason"] == "*" * 499


def test_a_query_longer_than_its_limit_as_sent_is_refused(platform, org):
    too_long = problem(platform.get("/api/v1/platform/audit-events", {"org": " " + "a" * 50}), 400)
    assert "no more than 50 characters" in json.dumps(too_long)
    # At the limit as sent, it is looked up (trimmed): there is no such org.
    unknown = problem(platform.get("/api/v1/platform/audit-events", {"org": " " + "a" * 49}), 400)
    assert "No organization with this slug." in json.dumps(unknown)
