"""Exporting the audit log (CSV, JSON Lines) from the console, and an org's retention setting."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import audit_record

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def export_url(org=None, /, **query) -> str:
    url = reverse("console:audit-export", kwargs={"org_slug": org.slug}) if org else reverse(
        "console:platform-audit-export")
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def body(response) -> str:
    return b"".join(response.streaming_content).decode()


@pytest.fixture
def log(org, other_org):
    audit_record(action="membership.suspended", org=org, metadata={"reason": "=HYPERLINK(\"http://x\")"})
    audit_record(action="group.created", org=org, metadata={"name": "Eng"})
    audit_record(action="group.created", org=other_org, metadata={"name": "Globex secret group"})
    audit_record(action="login.failed", metadata={"email": "nobody@example.test"})


def test_csv_export_has_this_orgs_events_with_their_chain_and_formulas_defused(org, org_admin_client, log):
    response = org_admin_client.get(export_url(org, format="csv"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-acme-')
    rows = list(csv.DictReader(io.StringIO(body(response).lstrip("\ufeff"))))
    # Newest first; the export's own record (written before the rows are read) comes first.
    assert [row["action"] for row in rows] == ["audit.exported", "group.created", "membership.suspended"]
    rows = rows[1:]
    assert all(row["org"] == "acme" for row in rows)
    assert json.loads(rows[1]["metadata"]) == {"reason": "=HYPERLINK(\"http://x\")"}
    assert {row["seq"] for row in rows} == {"1", "2"}
    stored = AuditEvent.objects.get(org=org, action="group.created")
    assert rows[0]["hash"] == stored.hash
    assert rows[0]["prev_hash"] == stored.prev_hash
    assert "Globex" not in body(org_admin_client.get(export_url(org, format="csv")))
    # The export itself is recorded, with its format and filters.
    exported = AuditEvent.objects.filter(org=org, action="audit.exported").first()
    assert exported.metadata == {"format": "csv", "filters": {}}
    assert exported.actor_label == "admin@acme.test"


def test_a_cell_starting_with_a_formula_character_is_prefixed(org, org_admin_client):
    audit_record(action="group.created", org=org, target=org, metadata={})
    AuditEvent.objects.create(org=org, action="group.created", target_label="=cmd|' /C calc'!A0")
    rows = list(csv.DictReader(io.StringIO(body(org_admin_client.get(export_url(org))).lstrip("\ufeff"))))
    assert rows[1]["target_label"] == "'=cmd|' /C calc'!A0"


def test_jsonl_export_with_filters(org, org_admin_client, log):
    response = org_admin_client.get(export_url(org, format="jsonl", action="group."))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/jsonl; charset=utf-8"
    records = [json.loads(line) for line in body(response).splitlines()]
    assert [(r["action"], r["metadata"]) for r in records] == [("group.created", {"name": "Eng"})]
    assert set(records[0]) >= {"id", "created_at", "actor", "target_type", "ip", "chain", "seq", "prev_hash", "hash"}
    assert AuditEvent.objects.get(action="audit.exported").metadata == {"format": "jsonl",
                                                                        "filters": {"action": "group."}}


def test_bad_format_is_a_clear_400_and_bad_filters_go_back_to_the_list(org, org_admin_client, log):
    response = org_admin_client.get(export_url(org, format="xlsx"))
    assert response.status_code == 400
    assert "format=csv or format=jsonl" in response.content.decode()

    response = org_admin_client.get(export_url(org, format="csv", ip="not-an-ip"))
    assert response.status_code == 302
    assert response["Location"] == reverse("console:audit-list", kwargs={"org_slug": "acme"}) + "?ip=not-an-ip"
    assert not AuditEvent.objects.filter(action="audit.exported").exists()


def test_auditors_may_export_members_and_other_orgs_may_not(org, other_org, sign_in, org_auditor, org_member,
                                                            other_org_admin, log, client):
    assert sign_in(org_auditor).get(export_url(org)).status_code == 200
    client.logout()
    assert sign_in(other_org_admin).get(export_url(org)).status_code == 404
    client.logout()
    assert sign_in(org_member).get(export_url(org)).status_code in (403, 404)


def test_operator_exports_every_event_or_one_org(operator_client, org, other_org, log):
    records = [json.loads(line) for line in body(operator_client.get(export_url(format="jsonl"))).splitlines()]
    assert {r["org"] for r in records} == {"acme", "globex", None}

    records = [json.loads(line) for line in
               body(operator_client.get(export_url(None, format="jsonl", org="globex"))).splitlines()]
    assert [r["org"] for r in records] == ["globex"]


def test_the_list_offers_the_export_with_the_current_filters(org, org_admin_client, log):
    page = org_admin_client.get(reverse("console:audit-list", kwargs={"org_slug": "acme"}) + "?action=group.")
    html = page.content.decode()
    assert f'href="{export_url(org)}?format=csv&amp;action=group."' in html
    assert "Export these events (JSON Lines)" in html
    assert "Events are kept for ever." in html


# ------------------------------------------------------------------------------------------ retention


def retention_url(org) -> str:
    return reverse("console:audit-retention", kwargs={"org_slug": org.slug})


def test_admin_sets_and_clears_the_retention(org, org_admin_client):
    response = org_admin_client.post(retention_url(org), {"days": "90", "confirmed": "1"})

    assert response.status_code == 302
    org.refresh_from_db()
    assert org.audit_retention_days == 90
    event = AuditEvent.objects.get(action="audit.retention_changed")
    assert event.metadata == {"before": {"retention_days": None}, "after": {"retention_days": 90}}
    page = org_admin_client.get(reverse("console:audit-list", kwargs={"org_slug": "acme"}))
    assert "Events are kept for 90 days, then purged" in page.content.decode()

    org_admin_client.post(retention_url(org), {"days": ""})
    org.refresh_from_db()
    assert org.audit_retention_days is None


@pytest.mark.parametrize("days", ["0", "-3", "abc", "36501"])
def test_bad_retention_is_refused_and_nothing_changes(org, org_admin_client, days):
    response = org_admin_client.post(retention_url(org), {"days": days})

    assert response.status_code == 200
    assert response.context["form"].errors["days"]
    org.refresh_from_db()
    assert org.audit_retention_days is None
    assert not AuditEvent.objects.filter(action="audit.retention_changed").exists()


def test_retention_is_for_admins_of_this_org(org, sign_in, org_auditor, other_org_admin, client):
    assert sign_in(org_auditor).post(retention_url(org), {"days": "5", "confirmed": "1"}).status_code == 403
    client.logout()
    assert sign_in(other_org_admin).get(retention_url(org)).status_code == 404
    org.refresh_from_db()
    assert org.audit_retention_days is None
