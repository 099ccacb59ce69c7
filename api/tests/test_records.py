"""/api/v1/orgs/{org}/audit-events and /email: the org's records, filtered and paged, never another org's."""

import pytest

from api.tests.conftest import ApiClient, new_key
from api.tests.test_authentication import problem
from audit.models import AuditEvent
from audit.services import audit_record
from emailqueue.models import OutboundEmail
from emailqueue.services import email_enqueue

pytestmark = pytest.mark.django_db

AUDIT = "/api/v1/orgs/acme/audit-events"
EMAIL = "/api/v1/orgs/acme/email"


@pytest.fixture
def auditor_api(org, org_auditor):
    return ApiClient(new_key(org, org_auditor, {"audit.view", "email.view"}))


@pytest.fixture
def events(org, other_org, org_admin):
    for index in range(5):
        audit_record(action="group.created", actor=org_admin, org=org, metadata={"n": index})
    audit_record(action="login.failed", org=org, metadata={"email": "x@acme.test"})
    audit_record(action="group.created", org=other_org, metadata={"secret": "globex"})
    audit_record(action="signing_key.rotated", org=None)


def test_audit_list_filters_pages_and_stays_in_the_org(auditor_api, events):
    everything = auditor_api.get(AUDIT, {"limit": 200}).json()["data"]
    assert {row["action"] for row in everything} >= {"group.created", "login.failed"}
    assert "signing_key.rotated" not in {row["action"] for row in everything}
    assert "globex" not in str(everything)
    created = auditor_api.get(AUDIT, {"action": "group.created", "limit": 2})
    assert created.status_code == 200
    first = created.json()
    assert len(first["data"]) == 2
    rest = auditor_api.get(AUDIT, {"action": "group.created", "limit": 10, "cursor": first["next_cursor"]}).json()
    ids = [row["id"] for row in first["data"] + rest["data"]]
    assert len(ids) == len(set(ids)) == 5
    assert ids == sorted(ids, reverse=True)
    assert [row["action"] for row in auditor_api.get(AUDIT, {"action": "login."}).json()["data"]] == ["login.failed"]
    assert auditor_api.get(AUDIT, {"actor": "ADMIN@"}).json()["data"][0]["actor"] == "admin@acme.test"
    problem(auditor_api.get(AUDIT, {"action": "login.failed", "cursor": first["next_cursor"]}), 400)
    problem(auditor_api.get(AUDIT, {"ip": "not-an-ip"}), 400)
    problem(auditor_api.get(AUDIT, {"date_from": "yesterday"}), 400)


def test_audit_detail_carries_metadata_and_foreign_events_are_404(auditor_api, events, org, other_org):
    mine = AuditEvent.objects.filter(org=org, action="login.failed").get()
    detail = auditor_api.get(f"{AUDIT}/{mine.pk}").json()
    assert detail["metadata"] == {"email": "x@acme.test"}
    for foreign in AuditEvent.objects.exclude(org=org):
        problem(auditor_api.get(f"{AUDIT}/{foreign.pk}"), 404)


def test_audit_needs_audit_view_and_another_orgs_key_gets_404(org, org_admin, other_org, other_org_admin, events):
    problem(ApiClient(new_key(org, org_admin, {"members.view"})).get(AUDIT), 403, "missing_scope")
    problem(ApiClient(new_key(other_org, other_org_admin, {"audit.view"})).get(AUDIT), 404)


@pytest.fixture
def mails(org, other_org):
    def send(to, org_):
        return email_enqueue(to=to, template="group_added", kind="group", org=org_,
                             context={"group_name": "Ops", "org_name": "x"})
    return [send("a@acme.test", org), send("b@acme.test", org), send("c@globex.test", other_org)]


def test_email_list_read_requeue_and_cancel(org, org_admin, auditor_api, mails):
    rows = auditor_api.get(EMAIL).json()["data"]
    assert {row["recipient"] for row in rows} <= {"a@acme.test", "b@acme.test"}
    manager = ApiClient(new_key(org, org_admin, {"email.view", "email.manage"}))
    pending = OutboundEmail.objects.filter(org=org).order_by("pk")
    OutboundEmail.objects.filter(pk=pending[0].pk).update(status=OutboundEmail.Status.PENDING)
    cancelled = manager.post(f"{EMAIL}/{pending[0].pk}/cancel", {"reason": "typo"})
    assert cancelled.status_code == 200, cancelled.content
    assert cancelled.json()["status"] == "cancelled"
    assert AuditEvent.objects.get(action="email.cancelled").actor == org_admin
    requeued = manager.post(f"{EMAIL}/{pending[0].pk}/requeue")
    assert requeued.status_code == 200
    assert AuditEvent.objects.filter(action="email.requeued").count() == 1
    problem(auditor_api.post(f"{EMAIL}/{pending[0].pk}/cancel", {}), 403, "missing_scope")
    problem(manager.post(f"{EMAIL}/{pending[0].pk}/cancel", {"reason": 5}), 400)
    foreign = OutboundEmail.objects.get(recipient="c@globex.test")
    for path in (f"{EMAIL}/{foreign.pk}", f"{EMAIL}/{foreign.pk}/requeue", f"{EMAIL}/{foreign.pk}/cancel"):
        response = manager.get(path) if path.endswith(str(foreign.pk)) else manager.post(path, {})
        problem(response, 404)
    foreign.refresh_from_db()
    assert foreign.status != OutboundEmail.Status.CANCELLED


def test_one_time_links_are_redacted(org, auditor_api):
    email = email_enqueue(to="x@acme.test", template="group_added", kind="group", org=org,
                          context={"group_name": "Ops", "org_name": "x"})
    OutboundEmail.objects.filter(pk=email.pk).update(body_text="Set it: https://id.test/password/reset/abc123")
    body = auditor_api.get(f"{EMAIL}/{email.pk}").json()["body_text"]
    assert "abc123" not in body
    assert "redacted" in body
