"""The account page: who you are, where you belong, where you are signed in."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from directory.tests.factories import MembershipFactory, OrganizationFactory
from identity.models import UserSession
from identity.tests.html_forms import hidden_input
from orgs.models import Membership

ACCOUNT_URL = "/account/"


def _rows(response, heading: str) -> list[list[str]]:
    """The text of each body row of the table after `heading`, cell by cell."""
    html = response.content.decode()
    section = html.split(f"<h2>{heading}</h2>", 1)[1]
    tbody = section.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", tbody, re.S)
    ]


def _session_items(response) -> list[list[str]]:
    """Each signed-in session listed: [device line, address, signed in, last seen], as text."""
    html = response.content.decode()
    items = re.findall(r'<li data-session="\d+">\s*<p>(.*?)</p>', html, re.S)
    rows = []
    for item in items:
        device, details = (re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", part)).strip() for part in item.split("<br>"))
        rows.append([device, *details.split(" · ")])
    return rows


@pytest.mark.django_db
def test_account_requires_sign_in(client):
    response = client.get(ACCOUNT_URL)

    assert response.status_code == 302
    assert response["Location"] == "/login?next=/account/"


@pytest.mark.django_db
def test_sign_in_from_the_account_redirect_comes_back(client, org_admin):
    login_url = client.get(ACCOUNT_URL)["Location"]
    page = client.get(login_url)

    response = client.post("/login", {"email": org_admin.email, "password": "correct-horse-battery-staple",
                                      "next": hidden_input(page, "next")})

    assert response["Location"] == ACCOUNT_URL


@pytest.mark.django_db
def test_account_shows_email_and_memberships(client, sign_in, org, other_org, org_member):
    MembershipFactory(user=org_member, org=other_org, role=Membership.Role.AUDITOR,
                      status=Membership.Status.INVITED)
    stranger_org = OrganizationFactory(slug="initech", name="Initech")
    MembershipFactory(org=stranger_org, role=Membership.Role.OWNER)
    org_member.full_name = "Mia Member"
    org_member.save()
    sign_in(org_member)

    response = client.get(ACCOUNT_URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<dd>member@acme.test</dd>" in html
    assert "<dd>Mia Member</dd>" in html
    assert _rows(response, "Organizations") == [
        ["Acme Corp", "Member", "Active"],
        ["Globex", "Auditor", "Invited"],
    ]
    assert "Initech" not in html


@pytest.mark.django_db
def test_account_without_memberships_says_so(client, sign_in, operator):
    sign_in(operator)

    response = client.get(ACCOUNT_URL)

    assert response.status_code == 200
    assert "You do not belong to any organization." in response.content.decode()


@pytest.mark.django_db
def test_account_lists_only_this_users_live_sessions(client, sign_in, org_member, org_admin):
    sign_in(org_member)
    now = timezone.now()
    later = now + timedelta(hours=1)
    UserSession.objects.create(user=org_member, device="Firefox on Windows", ip="203.0.113.7",
                               expires_at=later, last_seen_at=now - timedelta(minutes=5))
    UserSession.objects.create(user=org_member, device="Safari on iOS", ip="203.0.113.8",
                               expires_at=later, ended_at=now, end_reason=UserSession.EndReason.LOGOUT)
    UserSession.objects.create(user=org_member, device="Edge on Windows", ip="203.0.113.9",
                               expires_at=now - timedelta(minutes=1))
    UserSession.objects.create(user=org_admin, device="Chrome on Linux", ip="198.51.100.9", expires_at=later)
    sign_in(org_admin, Client())

    response = client.get(ACCOUNT_URL)

    assert response.status_code == 200
    rows = _session_items(response)
    assert [row[:2] for row in rows] == [
        ["Test client (this session)", "—"],
        ["Firefox on Windows", "203.0.113.7"],
    ]
    html = response.content.decode()
    for hidden in ("Safari on iOS", "Edge on Windows", "Chrome on Linux", "198.51.100.9"):
        assert hidden not in html
    assert html.count("(this session)") == 1


@pytest.mark.django_db
def test_account_has_a_sign_out_form(client, sign_in, org_member):
    sign_in(org_member)

    html = client.get(ACCOUNT_URL).content.decode()

    assert '<form method="post" action="/logout">' in html
    assert 'name="csrfmiddlewaretoken"' in html


def _live_sessions(user, count: int) -> None:
    """`count` more live sessions of `user`, "Script 0" the most recently used."""
    now = timezone.now()
    for i in range(count):
        UserSession.objects.create(user=user, device=f"Script {i}", ip="203.0.113.7",
                                   expires_at=now + timedelta(hours=1), last_seen_at=now - timedelta(minutes=i + 1))


@pytest.mark.django_db
def test_account_lists_twenty_sessions_this_one_first_and_says_how_many_more(client, sign_in, org_member):
    sign_in(org_member)
    # This browser's session was last seen before the others were: it is still listed first.
    UserSession.objects.filter(user=org_member).update(last_seen_at=timezone.now() - timedelta(days=1))
    _live_sessions(org_member, 25)

    response = client.get(ACCOUNT_URL)

    rows = _session_items(response)
    assert [row[0] for row in rows] == ["Test client (this session)", *(f"Script {i}" for i in range(19))]
    html = response.content.decode()
    assert "And 6 more sessions, not listed. “Sign out everywhere else” ends them too." in html
    ended = client.post("/account/sessions/end-others", follow=True)
    assert "Signed out 25 other sessions." in ended.content.decode()
    assert UserSession.objects.live().filter(user=org_member).count() == 1


@pytest.mark.django_db
def test_account_with_twenty_sessions_lists_them_all(client, sign_in, org_member):
    sign_in(org_member)
    _live_sessions(org_member, 19)

    response = client.get(ACCOUNT_URL)

    assert len(_session_items(response)) == 20
    assert "more session" not in response.content.decode()
    assert "Sign out everywhere else" in response.content.decode()
