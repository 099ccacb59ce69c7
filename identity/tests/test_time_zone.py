"""Times in the viewer's zone, with the zone; dates picked in forms mean that day in that zone; the zone is a
setting on the account page, UTC unless chosen."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.template import Context, Template
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from applications.apikey_selectors import ApiKeyStatus, api_key_status
from applications.models import ApiKey
from audit.models import AuditEvent
from directory.models import User
from directory.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

WINTER = datetime(2026, 12, 6, 14, 5, 9, tzinfo=UTC)
SUMMER = datetime(2026, 7, 14, 9, 30, tzinfo=UTC)


def audit_list(client: Client, **filters) -> str:
    response = client.get(reverse("console:audit-list", kwargs={"org_slug": "acme"}), filters)
    assert response.status_code == 200
    return response.content.decode()


def in_zone(user: User, zone: str) -> User:
    User.objects.filter(pk=user.pk).update(time_zone=zone)
    user.refresh_from_db()
    return user


def test_a_new_account_reads_times_in_utc(org, org_admin, org_admin_client):
    assert UserFactory().time_zone == "UTC"
    assert User.objects.create_user("new@example.test", "pw-long-enough-1").time_zone == "UTC"
    AuditEvent.objects.create(org=org, action="group.created", created_at=WINTER)

    assert "6 Dec 2026, 14:05:09 UTC" in audit_list(org_admin_client)
    assert "<dt>Time zone</dt><dd>UTC · " in org_admin_client.get("/account/").content.decode()
    form = org_admin_client.get(reverse("identity:time-zone")).content.decode()
    assert re.search(r'<option value="UTC" selected>UTC</option>', form)


def test_a_viewer_in_paris_sees_event_times_in_cet_and_cest(org, org_admin, sign_in):
    client = sign_in(in_zone(org_admin, "Europe/Paris"))
    winter = AuditEvent.objects.create(org=org, action="group.created", created_at=WINTER)
    AuditEvent.objects.create(org=org, action="group.updated", created_at=SUMMER)

    listing = audit_list(client)
    assert "6 Dec 2026, 15:05:09 CET" in listing
    assert "14 Jul 2026, 11:30:00 CEST" in listing
    assert "UTC" not in re.sub(r"<[^>]+>", "", listing.split("<tbody>", 1)[1]).split("</tbody>")[0]
    detail = client.get(reverse("console:audit-detail", kwargs={"org_slug": "acme", "pk": winter.pk}))
    assert "6 Dec 2026, 15:05:09 CET" in detail.content.decode()


def test_the_same_event_reads_in_utc_for_a_viewer_who_chose_nothing(org, org_admin, org_auditor, sign_in):
    AuditEvent.objects.create(org=org, action="group.created", created_at=WINTER)
    in_zone(org_admin, "Europe/Paris")

    assert "6 Dec 2026, 14:05:09 UTC" in audit_list(sign_in(org_auditor, Client()))


def test_an_audit_date_filter_means_that_day_in_the_viewers_zone(org, org_admin, sign_in):
    # 23:30 UTC on 6 December is already 00:30 on 7 December in Paris.
    AuditEvent.objects.create(org=org, action="group.created", created_at=datetime(2026, 12, 6, 23, 30, tzinfo=UTC))
    day = {"date_from": "2026-12-07", "date_to": "2026-12-07"}

    assert "group.created" not in audit_list(sign_in(org_admin, Client()), **day)
    assert "7 Dec 2026, 00:30:00 CET" in audit_list(sign_in(in_zone(org_admin, "Europe/Paris"), Client()), **day)


def test_an_api_key_expiry_picked_in_los_angeles_is_the_end_of_that_day_there(org, org_admin, sign_in):
    client = sign_in(in_zone(org_admin, "America/Los_Angeles"))

    response = client.post(reverse("console:apikey-create", args=["acme"]), {
        "name": "Payroll export", "scopes": ["members.view"], "expires_on": "2027-06-30", "allowed_ips": "",
        "application": ""})

    assert response.status_code == 200
    key = ApiKey.objects.get()
    # The last moment of 30 June in Los Angeles (PDT, UTC-7).
    assert key.expires_at == datetime(2027, 7, 1, 6, 59, 59, 999999, tzinfo=UTC)
    assert api_key_status(key, now=datetime(2027, 7, 1, 6, 59, 59, tzinfo=UTC)) == ApiKeyStatus.ACTIVE
    assert api_key_status(key, now=datetime(2027, 7, 1, 7, 0, tzinfo=UTC)) == ApiKeyStatus.EXPIRED
    assert "30 Jun 2027, 23:59 PDT" in response.content.decode()
    listing = client.get(reverse("console:apikey-list", args=["acme"])).content.decode()
    assert "expires 30 Jun 2027, 23:59 PDT" in listing
    assert "1 Jul 2027" not in listing


def test_choosing_a_zone_on_the_account_page_saves_it_and_audits_it(org_member, sign_in):
    client = sign_in(org_member)
    account = client.get(reverse("identity:account")).content.decode()
    assert f'href="{reverse("identity:time-zone")}">Change time zone</a>' in account
    assert "<option" not in account  # the list of zones is on its own page

    response = client.post(reverse("identity:time-zone"), {"time_zone": "Europe/Paris"})

    assert response.status_code == 302
    assert response["Location"] == reverse("identity:account")
    assert User.objects.get(pk=org_member.pk).time_zone == "Europe/Paris"
    event = AuditEvent.objects.get(action="user.time_zone_changed")
    assert (event.actor, event.metadata) == (org_member, {"before": {"time_zone": "UTC"},
                                                          "after": {"time_zone": "Europe/Paris"}})
    page = client.get(reverse("identity:account")).content.decode()
    assert "Times are now shown in Europe/Paris." in page
    assert "Europe/Paris · " in page
    form = client.get(reverse("identity:time-zone")).content.decode()
    assert '<option value="Europe/Paris" selected>Europe/Paris</option>' in form
    # The sessions list now reads in Paris time.
    assert re.search(r"signed in <time datetime=\"[^\"]+\">\d{1,2} \w{3} \d{4}, \d\d:\d\d CES?T</time>", page)


@pytest.mark.parametrize("value", ["Mars/Olympus_Mons", "", "localtime", "x" * 300])
def test_a_name_that_is_not_a_time_zone_gets_an_error_beside_the_field(org_member, sign_in, value):
    client = sign_in(org_member)

    response = client.post(reverse("identity:time-zone"), {"time_zone": value})

    assert response.status_code == 200
    page = response.content.decode()
    error = re.search(r'<small class="field-error" id="id_time_zone_error">([^<]+)</small>', page)
    assert error, "the error sits beside the time zone field"
    assert "time zone" in error.group(1)
    assert User.objects.get(pk=org_member.pk).time_zone == "UTC"
    assert not AuditEvent.objects.filter(action="user.time_zone_changed").exists()


def test_the_zone_is_activated_without_a_query_of_its_own_and_does_not_leak_to_the_next_request(
        org_member, sign_in):
    client = sign_in(in_zone(org_member, "Asia/Tokyo"))
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/account/").status_code == 200
    user_loads = [q["sql"] for q in queries.captured_queries if 'FROM "directory_user"' in q["sql"]]
    assert len(user_loads) == 1  # authentication's own load of the user row

    Client().get("/login")
    assert timezone.get_current_timezone_name() == "UTC"


def test_the_filter_names_zones_without_an_abbreviation_by_their_offset():
    timezone.activate("America/Sao_Paulo")
    try:
        text = Template('{% load when %}{{ moment|when }} · {{ moment|when_day }} · {{ nothing|when }}').render(
            Context({"moment": WINTER, "nothing": None}))
    finally:
        timezone.deactivate()
    assert text == "6 Dec 2026, 11:05 UTC-03 · 6 Dec 2026 · "


def test_a_date_only_value_is_shown_as_that_day_in_any_zone():
    timezone.activate("Pacific/Kiritimati")
    try:
        assert Template("{% load when %}{{ day|when_day }}").render(
            Context({"day": (WINTER + timedelta(hours=12)).date()})) == "7 Dec 2026"
    finally:
        timezone.deactivate()
