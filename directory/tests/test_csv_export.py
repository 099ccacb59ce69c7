"""The users export: formula cells neutralised, the list's filters applied, streamed, audited, and scoped."""

import csv
import io

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from audit.models import AuditEvent
from directory.csv_export import cell_escape, csv_lines
from directory.tests.factories import GroupFactory, GroupMembershipFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def export_url(org, **query) -> str:
    address = reverse("console:user-export", kwargs={"org_slug": org.slug})
    return address + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def read(response) -> list[list[str]]:
    assert isinstance(response, StreamingHttpResponse)
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


@pytest.mark.parametrize(("value", "expected"), [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), (" =1", "' =1"), ("Ada", "Ada"), ("a=b", "a=b"), ("", ""), (None, ""), (42, "42"),
])
def test_cell_escape(value, expected):
    assert cell_escape(value) == expected


def test_csv_lines_start_with_a_bom_and_escape_every_cell():
    lines = list(csv_lines(["a", "b"], [["=cmd|' /C calc'!A0", "ok"]]))
    assert lines[0] == '\ufeff"a","b"\r\n'
    assert lines[1] == '"\'=cmd|\' /C calc\'!A0","ok"\r\n'


def test_export_escapes_formulas_and_lists_this_orgs_groups(org_admin_client, org, other_org, org_admin, group):
    evil = MembershipFactory(org=org, employee_id="-42", user=UserFactory(
        email="evil@example.test", full_name='=HYPERLINK("http://evil.test","click")')).user
    GroupMembershipFactory(group=group, user=evil)
    GroupMembershipFactory(group=GroupFactory(org=other_org, slug="secret", name="Secret"), user=evil)
    MembershipFactory(org=other_org, user=UserFactory(email="stranger@globex.test"))
    response = org_admin_client.get(export_url(org))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="acme-users.csv"' in response["Content-Disposition"]
    rows = read(response)
    assert rows[0] == ["email", "name", "role", "groups", "employee_id", "status", "member_since"]
    by_email = {row[0]: row for row in rows[1:]}
    assert set(by_email) == {"admin@acme.test", "evil@example.test"}
    assert by_email["evil@example.test"][1] == "'=HYPERLINK(\"http://evil.test\",\"click\")"
    assert by_email["evil@example.test"][3] == "engineering"
    assert by_email["evil@example.test"][4] == "'-42"
    event = AuditEvent.objects.get(action="user.exported")
    assert event.actor == org_admin
    assert event.org == org
    assert event.metadata == {"filters": {}, "format": "csv"}


def test_export_applies_the_lists_filters(org_admin_client, org, org_admin):
    MembershipFactory(org=org, role="auditor", user=UserFactory(email="aud@example.test"))
    rows = read(org_admin_client.get(export_url(org, role="auditor")))
    assert [row[0] for row in rows[1:]] == ["aud@example.test"]
    assert AuditEvent.objects.get(action="user.exported").metadata["filters"] == {"role": "auditor"}


def test_invalid_filters_export_nothing(org_admin_client, org):
    response = org_admin_client.get(export_url(org, role="emperor"))
    assert response.status_code == 302
    assert "role=emperor" in response["Location"]
    assert not AuditEvent.objects.filter(action="user.exported").exists()


def test_every_console_role_may_export_and_members_may_not(client, sign_in, org, org_owner, org_auditor, org_member):
    for user in (org_owner, org_auditor):
        assert sign_in(user).get(export_url(org)).status_code == 200
    assert sign_in(org_member).get(export_url(org)).status_code == 403


def test_another_orgs_admin_gets_404(other_org_admin_client, org):
    assert other_org_admin_client.get(export_url(org)).status_code == 404


def test_export_reads_in_bounded_queries(org_admin_client, org, group, django_assert_max_num_queries):
    for i in range(120):
        user = UserFactory(email=f"u{i:03d}@example.test")
        MembershipFactory(org=org, user=user)
        GroupMembershipFactory(group=group, user=user)
    with django_assert_max_num_queries(12):
        rows = read(org_admin_client.get(export_url(org)))
    assert len(rows) == 1 + 121
