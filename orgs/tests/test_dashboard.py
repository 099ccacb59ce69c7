"""The org and platform overviews: the right numbers per day, nothing from other tenants, who sees which chart."""

from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory
from emailqueue.models import OutboundEmail
from emailqueue.tests.factories import OutboundEmailFactory
from identity.tests.oidc_support import WEB_REDIRECT, make_web_app
from orgs.dashboard import org_dashboard, platform_dashboard
from orgs.models import Membership, Organization
from orgs.permissions import ROLE_PERMISSIONS

pytestmark = pytest.mark.django_db


def overview(slug: str = "acme") -> str:
    return reverse("console:org-overview", kwargs={"org_slug": slug})


PLATFORM = "/console/platform/overview"


def days_ago(n: int, at: time = time(12, 0)) -> datetime:
    """A moment `n` calendar days before today in the deployment's time zone."""
    return timezone.make_aware(datetime.combine(timezone.localdate() - timedelta(days=n), at))


def event(org, action: str, when: datetime, actor=None) -> AuditEvent:
    return AuditEvent.objects.create(org=org, action=action, actor=actor, created_at=when,
                                     actor_label=actor.email if actor else "")


def table_row(day_offset: int, *values: int) -> str:
    """The data table's row for a day, as the page renders it."""
    day = timezone.localdate() - timedelta(days=day_offset)
    day = f"{day.day} {day:%b %Y}"  # the one day format of the pages (identity/templatetags/when.py)
    return f'<tr><th scope="row">{day}</th>' + "".join(f"<td>{v}</td>" for v in values) + "</tr>"


@pytest.fixture
def people(org):
    return [MembershipFactory(org=org).user for _ in range(3)]


# ---------------------------------------------------------------- selectors


def test_org_dashboard_counts_sign_ins_and_failures_per_day(org, other_org, people):
    alice, bob, carol = people
    event(org, "login.authorized", days_ago(0), alice)
    event(org, "login.succeeded", days_ago(0), bob)
    event(org, "login.authorized", days_ago(3), alice)
    event(org, "login.refused", days_ago(3), carol)
    event(org, "login.failed", days_ago(29))
    event(org, "login.authorized", days_ago(30), carol)  # before the window
    event(org, "group.created", days_ago(0), alice)  # not a sign-in
    event(other_org, "login.authorized", days_ago(0), alice)  # another tenant's
    event(None, "login.failed", days_ago(0))  # platform-level

    activity = org_dashboard(org=org).activity

    assert len(activity.days) == len(activity.sign_ins) == len(activity.failed_sign_ins) == 30
    assert activity.days[-1] == timezone.localdate()
    assert activity.days[0] == timezone.localdate() - timedelta(days=29)
    assert activity.sign_ins[-1] == 2
    assert activity.sign_ins[-4] == 1
    assert activity.failed_sign_ins[-4] == 1
    assert activity.failed_sign_ins[0] == 1
    assert (activity.total_sign_ins, activity.total_failed_sign_ins) == (3, 2)
    # Alice and Bob signed in; Carol was only refused (and her sign-in is before the window).
    assert activity.active_users == 2


def test_days_are_the_deployments_calendar_days(org, people, settings):
    settings.TIME_ZONE = "Pacific/Auckland"
    # Half past midnight in Auckland today is still yesterday in UTC.
    event(org, "login.authorized", days_ago(0, time(0, 30)), people[0])
    activity = org_dashboard(org=org).activity
    assert activity.sign_ins[-1] == 1
    assert activity.sign_ins[-2] == 0


def test_org_dashboard_counts_members_and_emails_by_status(org, other_org):
    MembershipFactory.create_batch(3, org=org)
    MembershipFactory(org=org, status=Membership.Status.INVITED)
    MembershipFactory(org=org, status=Membership.Status.SUSPENDED)
    MembershipFactory.create_batch(4, org=other_org)
    OutboundEmailFactory.create_batch(2, org=org, status=OutboundEmail.Status.SENT)
    OutboundEmailFactory(org=org, status=OutboundEmail.Status.DEAD)
    OutboundEmailFactory(org=other_org, status=OutboundEmail.Status.PENDING)
    OutboundEmailFactory(org=None, status=OutboundEmail.Status.PENDING)

    dashboard = org_dashboard(org=org)

    assert {c.key: c.count for c in dashboard.members_by_status} == {"active": 3, "invited": 1, "suspended": 1}
    emails = {c.key: c.count for c in dashboard.emails_by_state}
    assert emails == {"pending": 0, "sending": 0, "sent": 2, "failed": 0, "dead": 1, "cancelled": 0}


def test_sections_left_out_run_no_query(org, django_assert_num_queries):
    with django_assert_num_queries(1):
        dashboard = org_dashboard(org=org, audit=False, email=False)
    assert dashboard.activity is None
    assert dashboard.emails_by_state is None


def test_org_dashboard_takes_four_queries_however_much_data(org, people, django_assert_num_queries):
    for n in range(30):
        for person in people:
            event(org, "login.authorized", days_ago(n), person)
        event(org, "login.failed", days_ago(n))
    with django_assert_num_queries(4):
        dashboard = org_dashboard(org=org)
    assert dashboard.activity.sign_ins == [3] * 30


def test_platform_dashboard_spans_orgs_and_platform_level_events(org, other_org, people, django_assert_num_queries):
    alice = people[0]
    event(org, "login.authorized", days_ago(1), alice)
    event(org, "login.authorized", days_ago(1), people[1])
    event(other_org, "login.authorized", days_ago(1), alice)
    event(None, "login.failed", days_ago(0))
    event(None, "login.succeeded", days_ago(0), people[2])
    OrganizationFactory(slug="initech", status=Organization.Status.SUSPENDED)

    with django_assert_num_queries(6):
        dashboard = platform_dashboard()

    assert dashboard.activity.sign_ins[-2:] == [3, 1]
    assert dashboard.activity.failed_sign_ins[-1] == 1
    assert dashboard.activity.active_users == 3
    assert [(o.slug, o.count) for o in dashboard.top_orgs] == [("acme", 2), ("globex", 1)]
    assert {c.key: c.count for c in dashboard.orgs_by_status} == {"active": 2, "suspended": 1}


# ---------------------------------------------------------------- the org overview page


def test_overview_charts_show_the_numbers_of_each_day(org_admin_client, org, other_org, people):
    alice, bob, _carol = people
    event(org, "login.authorized", days_ago(0), alice)
    event(org, "login.authorized", days_ago(0), bob)
    event(org, "login.failed", days_ago(0))
    event(org, "login.authorized", days_ago(5), alice)
    event(other_org, "login.authorized", days_ago(5), alice)
    event(other_org, "login.failed", days_ago(5))
    OutboundEmailFactory(org=org, status=OutboundEmail.Status.FAILED)

    page = org_admin_client.get(overview()).content.decode()

    assert table_row(0, 2, 1) in page
    assert table_row(5, 1, 0) in page  # Globex's sign-in and failure that day are not Acme's
    assert table_row(1, 0, 0) in page
    today = timezone.localdate()
    assert f"{today.day} {today:%b %Y}: Sign-ins 2</title>" in page
    assert "Sign-ins (bars): 3 in all" in page
    assert "Failed sign-ins (line): 1 in all" in page
    assert "3 sign-ins and 1 failed sign-ins in the last 30 days." in page
    assert '<span class="figure" id="active-users">2</span>' in page
    # Members: the admin and three people, all active; one failed email.
    assert '<tr><th scope="row">Active</th><td>4</td></tr>' in page
    assert '<tr><th scope="row">Failed</th><td>1</td></tr>' in page
    assert 'role="img"' in page
    assert 'aria-labelledby="chart-sign-ins-title chart-sign-ins-desc"' in page
    assert "style=" not in page


def test_overview_never_counts_another_orgs_sign_ins(org_admin_client, org, other_org, other_org_admin):
    for n in range(3):
        event(other_org, "login.authorized", days_ago(n), other_org_admin)
    page = org_admin_client.get(overview()).content.decode()
    assert "0 sign-ins and 0 failed sign-ins in the last 30 days." in page
    assert '<span class="figure" id="active-users">0</span>' in page


def test_an_org_with_no_data_renders_its_empty_charts(client, sign_in, operator):
    OrganizationFactory(slug="empty", name="Empty Co")
    response = sign_in(operator).get(overview("empty"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sign-ins (bars): 0 in all" in page
    assert table_row(0, 0, 0) in page
    assert '<tr><th scope="row">Active</th><td>0</td></tr>' in page
    assert '<desc id="chart-members-desc">0 members in all.</desc>' in page
    assert '<desc id="chart-emails-desc">0 messages in all.</desc>' in page
    assert "Nothing has happened here yet." in page


@pytest.mark.parametrize("role", ["owner", "admin", "auditor"])
def test_console_roles_see_every_chart(client, sign_in, org, role):
    response = sign_in(MembershipFactory(org=org, role=role).user).get(overview())
    assert response.status_code == 200
    page = response.content.decode()
    for chart in ("chart-sign-ins", "chart-members", "chart-emails"):
        assert f'id="{chart}"' in page
    assert "console/charts.css" in page


def test_a_member_is_refused_the_overview(client, sign_in, org, org_member):
    response = sign_in(org_member).get(overview())
    assert response.status_code == 403
    assert "chart-sign-ins" not in response.content.decode()


def test_another_orgs_admin_gets_404(other_org_admin_client, org):
    event(org, "login.authorized", days_ago(0))
    response = other_org_admin_client.get(overview())
    assert response.status_code == 404
    assert "chart-sign-ins" not in response.content.decode()


def test_operator_sees_an_orgs_charts(operator_client, org):
    response = operator_client.get(overview())
    assert response.status_code == 200
    assert 'id="chart-sign-ins"' in response.content.decode()


def test_a_role_without_audit_or_email_access_sees_neither_chart(client, sign_in, org, org_auditor, monkeypatch):
    monkeypatch.setitem(ROLE_PERMISSIONS, Membership.Role.AUDITOR, frozenset({"org.view"}))
    event(org, "login.authorized", days_ago(0), org_auditor)
    page = sign_in(org_auditor).get(overview()).content.decode()
    assert 'id="chart-members"' in page
    assert 'id="chart-sign-ins"' not in page
    assert 'id="chart-emails"' not in page
    assert 'id="active-users"' not in page
    assert "Recent activity" not in page


def test_overview_query_count_does_not_grow_with_data(client, sign_in, org, org_admin, people,
                                                      django_assert_max_num_queries):
    signed_in = sign_in(org_admin)
    for n in range(30):
        for person in people:
            event(org, "login.authorized", days_ago(n), person)
        event(org, "login.refused", days_ago(n))
    OutboundEmailFactory.create_batch(5, org=org)
    with django_assert_max_num_queries(16):
        response = signed_in.get(overview())
    assert response.status_code == 200
    assert table_row(0, 3, 1) in response.content.decode()


# ---------------------------------------------------------------- the platform overview


def test_platform_overview_for_operators(operator_client, org, other_org, people):
    event(org, "login.authorized", days_ago(0), people[0])
    event(org, "login.authorized", days_ago(0), people[1])
    event(other_org, "login.authorized", days_ago(0), people[0])
    event(None, "login.failed", days_ago(0))
    OutboundEmailFactory(org=None, status=OutboundEmail.Status.DEAD)

    response = operator_client.get(reverse("console:platform-overview"))

    assert response.status_code == 200
    page = response.content.decode()
    assert table_row(0, 3, 1) in page
    assert '<tr><th scope="row">Acme Corp</th><td>2</td></tr>' in page
    assert '<tr><th scope="row">Globex</th><td>1</td></tr>' in page
    assert '<tr><th scope="row">Dead</th><td>1</td></tr>' in page
    assert overview("acme") in page
    assert "style=" not in page


def test_platform_overview_with_no_data(operator_client):
    response = operator_client.get(PLATFORM)
    assert response.status_code == 200
    page = response.content.decode()
    assert "No organization has had a sign-in in this period." in page
    assert table_row(0, 0, 0) in page


def test_platform_overview_is_linked_from_the_org_list(operator_client):
    assert PLATFORM in operator_client.get(reverse("console:platform-orgs")).content.decode()


@pytest.mark.parametrize("role", ["owner", "admin", "auditor", "member"])
def test_platform_overview_is_404_for_anyone_but_operators(client, sign_in, org, role):
    response = sign_in(MembershipFactory(org=org, role=role).user).get(PLATFORM)
    assert response.status_code == 404


def test_platform_overview_sends_anonymous_to_sign_in(client):
    response = client.get(PLATFORM)
    assert response.status_code == 302
    assert response["Location"].startswith("/login")


def test_platform_overview_query_count(client, sign_in, operator, org, other_org, people,
                                      django_assert_max_num_queries):
    signed_in = sign_in(operator)
    for n in range(30):
        event(org, "login.authorized", days_ago(n), people[n % 3])
        event(other_org, "login.authorized", days_ago(n), UserFactory())
    with django_assert_max_num_queries(12):
        response = signed_in.get(PLATFORM)
    assert response.status_code == 200


def test_the_platform_route_is_not_taken_for_an_org_slug(operator_client):
    OrganizationFactory(slug="platform", name="Platform Inc")
    # /console/platform/overview is the operators' page; an org called "platform" keeps its own overview.
    assert operator_client.get(PLATFORM).templates[0].name == "console/platform/overview.html"


# ---------------------------------------------------------------- what counts as one sign-in


def _sign_in_through(app, browser, email: str | None = None) -> None:
    """/authorize for `app`; with `email`, the password first (the sign-in that ends at the app, with the
    code in its answer)."""
    authorize = (f"/oauth/authorize?client_id={app.client_id}&response_type=code&scope=openid"
                 f"&redirect_uri={WEB_REDIRECT}")
    if email is not None:
        response = browser.post("/login", {"email": email, "password": DEFAULT_PASSWORD, "next": authorize})
    else:
        response = browser.get(authorize)
    assert response.status_code == 302
    assert response["Location"].startswith(WEB_REDIRECT + "?code=")


def test_a_session_counts_once_a_day_however_many_of_the_orgs_apps_it_signs_in_to(
        client, sign_in, org, operator):
    hr, wiki = make_web_app(org, client_id="hr"), make_web_app(org, client_id="wiki")
    alice = MembershipFactory(org=org, user=UserFactory(email="alice@acme.test")).user
    first, second = Client(), Client()
    _sign_in_through(hr, first, alice.email)  # a sign-in, then the app: two events, one session
    _sign_in_through(wiki, first)  # the same session on to another app: a third event
    _sign_in_through(hr, second, alice.email)  # another browser: another session
    assert AuditEvent.objects.filter(org=org, action__in=["login.succeeded", "login.member_succeeded",
                                                          "login.authorized"]).count() == 5

    activity = org_dashboard(org=org).activity
    assert activity.sign_ins[-1] == 2
    assert activity.active_users == 1
    admin = MembershipFactory(org=org, role="admin", user=UserFactory(email="admin@acme.test")).user
    page = sign_in(admin, client).get(overview()).content.decode()
    assert table_row(0, 2, 0) in page
    assert "counts once" in page  # the page says what a sign-in is

    platform = platform_dashboard()
    assert platform.activity.sign_ins[-1] == 2  # the platform's originals: the same two sessions
    assert [(o.slug, o.count) for o in platform.top_orgs] == [("acme", 2)]  # as acme's overview counts them
    assert table_row(0, 2, 0) in sign_in(operator, Client()).get(PLATFORM).content.decode()
