"""The org overview tells the truth: a member's own sign-in at /login counts in their org, and in no other."""

import re

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory
from orgs.dashboard import org_dashboard, platform_dashboard

pytestmark = pytest.mark.django_db


def overview(slug: str) -> str:
    return reverse("console:org-overview", kwargs={"org_slug": slug})


def active_users(html: str) -> int:
    match = re.search(r'<span class="figure" id="active-users">(\d+)</span>', html)
    assert match, "the overview shows its active-users figure"
    return int(match.group(1))


def login(email: str, password: str = DEFAULT_PASSWORD):
    return Client().post("/login", {"email": email, "password": password})


def test_the_dashboard_counts_a_members_login_sign_in_and_another_orgs_dashboard_does_not(
        org, other_org, org_admin, other_org_admin, sign_in):
    member = MembershipFactory(org=org, role="member", user=UserFactory(email="dana@acme.test")).user

    assert login(member.email).status_code == 302  # signed in at the plain /login, no app involved

    acme = sign_in(org_admin, Client()).get(overview("acme"))
    globex = sign_in(other_org_admin, Client()).get(overview("globex"))
    assert acme.status_code == globex.status_code == 200
    assert active_users(acme.content.decode()) == 1
    assert "1 sign-in and 0 failed sign-ins in the last 30 days." in acme.content.decode()
    assert active_users(globex.content.decode()) == 0
    assert "0 sign-ins and 0 failed sign-ins in the last 30 days." in globex.content.decode()


def test_a_wrong_password_counts_as_a_failed_sign_in_in_the_members_org_only(org, other_org, org_member):
    assert login(org_member.email, "not-the-password").status_code == 200

    assert org_dashboard(org=org).activity.total_failed_sign_ins == 1
    assert org_dashboard(org=other_org).activity.total_failed_sign_ins == 0


def test_the_platform_overview_counts_each_sign_in_once(org, other_org):
    both = UserFactory(email="both@example.test")
    MembershipFactory(org=org, user=both)
    MembershipFactory(org=other_org, user=both)

    assert login(both.email).status_code == 302
    assert login(both.email, "wrong").status_code == 200

    platform = platform_dashboard()
    assert (platform.activity.total_sign_ins, platform.activity.total_failed_sign_ins) == (1, 1)
    assert platform.activity.active_users == 1
    # The busiest orgs are ranked by what each org's own overview counts.
    assert sorted((row.slug, row.count) for row in platform.top_orgs) == [("acme", 1), ("globex", 1)]
    for each in (org, other_org):
        activity = org_dashboard(org=each).activity
        assert (activity.total_sign_ins, activity.total_failed_sign_ins, activity.active_users) == (1, 1, 1)


def test_an_org_the_member_left_or_was_suspended_in_counts_nothing(org, other_org):
    person = UserFactory(email="erin@example.test")
    MembershipFactory(org=org, user=person)
    MembershipFactory(org=other_org, user=person, status="suspended")
    third = OrganizationFactory(slug="initech", name="Initech", status="suspended")
    MembershipFactory(org=third, user=person)

    assert login(person.email).status_code == 302

    assert org_dashboard(org=org).activity.total_sign_ins == 1
    assert org_dashboard(org=other_org).activity.total_sign_ins == 0
    assert org_dashboard(org=third).activity.total_sign_ins == 0
    call_command("audit_verify")  # raises (exit 1) at a broken chain
