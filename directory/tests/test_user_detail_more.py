"""The user detail page's newer parts: reachable applications, employee id (and its edit), MFA and sessions."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from applications.services import application_create, application_disable
from audit.models import AuditEvent
from config.exceptions import DomainError
from directory.member_selectors import user_reachable_applications, user_session_summary
from directory.member_services import membership_employee_id_update
from directory.tests.factories import GroupFactory, GroupMembershipFactory, MembershipFactory, UserFactory
from identity.models import UserSession
from orgs.models import Membership

pytestmark = pytest.mark.django_db


def url(name, org, user):
    return reverse(f"console:{name}", kwargs={"org_slug": org.slug, "pk": user.pk})


@pytest.fixture
def alice(org):
    return MembershipFactory(org=org, role="member", user=UserFactory(email="alice@acme.test")).user


def membership_of(user, org) -> Membership:
    return Membership.objects.get(user=user, org=org)


def web_app(org, name, **kwargs):
    return application_create(org=org, name=name, kind="web", redirect_uris=["https://app.example/cb"],
                              **kwargs).application


def session(user, *, ended=False, expired=False, seen_ago=timedelta(0)):
    now = timezone.now()
    return UserSession.objects.create(
        user=user, device="Laptop", expires_at=now + (timedelta(hours=-1) if expired else timedelta(hours=8)),
        last_seen_at=now - seen_ago, ended_at=now if ended else None)


# ------------------------------------------------------------------------------------------ who may see

@pytest.mark.parametrize("who", ["org_owner", "org_admin", "org_auditor", "operator"])
def test_console_roles_see_the_new_sections(request, sign_in, org, alice, who):
    page = sign_in(request.getfixturevalue(who)).get(url("user-detail", org, alice))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Employee id" in text
    assert '<th scope="row">Multi-factor authentication</th>' in text  # the placeholder row now shows the factors
    assert "Not set up" in text
    assert "No active session" in text
    assert 'id="reachable-apps"' in text


def test_member_gets_403_and_other_orgs_admin_404(sign_in, org, alice, org_member, other_org_admin):
    assert sign_in(org_member).get(url("user-detail", org, alice)).status_code == 403
    assert sign_in(org_member).get(url("user-employee-id", org, alice)).status_code == 403
    other = sign_in(other_org_admin)
    assert other.get(url("user-detail", org, alice)).status_code == 404
    assert other.get(url("user-employee-id", org, alice)).status_code == 404
    assert other.post(url("user-employee-id", org, alice), {"employee_id": "E1"}).status_code == 404
    assert membership_of(alice, org).employee_id == ""
    assert not AuditEvent.objects.filter(action="membership.updated").exists()


def test_another_orgs_member_is_404_for_this_orgs_admin(org_admin_client, org, other_org):
    stranger = MembershipFactory(org=other_org, user=UserFactory(email="s@globex.test")).user
    assert org_admin_client.get(url("user-detail", org, stranger)).status_code == 404
    assert org_admin_client.get(url("user-employee-id", org, stranger)).status_code == 404
    assert org_admin_client.post(url("user-employee-id", org, stranger), {"employee_id": "E1"}).status_code == 404
    assert membership_of(stranger, other_org).employee_id == ""


# ------------------------------------------------------------------------------------------ applications

def test_applications_the_user_can_reach(org_admin_client, org, other_org, alice):
    engineering = GroupFactory(org=org, name="Engineering", slug="engineering")
    sales = GroupFactory(org=org, name="Sales", slug="sales")
    GroupMembershipFactory(group=engineering, user=alice)
    foreign_group = GroupFactory(org=other_org, name="Globex eng", slug="eng")
    GroupMembershipFactory(group=foreign_group, user=alice)
    web_app(org, "Open wiki")
    web_app(org, "Eng dashboard", allowed_groups=[engineering])
    web_app(org, "Sales CRM", allowed_groups=[sales])
    web_app(org, "Both", allowed_groups=[sales, engineering])
    off = web_app(org, "Retired app")
    application_disable(application=off, actor=None)
    application_create(org=org, name="Nightly sync", kind="machine")
    web_app(other_org, "Globex portal")
    web_app(other_org, "Globex eng tool", allowed_groups=[foreign_group])

    names = [app.name for app in user_reachable_applications(org=org, user=alice)]
    assert names == ["Both", "Eng dashboard", "Open wiki"]
    page = org_admin_client.get(url("user-detail", org, alice)).content.decode()
    for name in names:
        assert name in page
    for name in ("Sales CRM", "Retired app", "Nightly sync", "Globex portal", "Globex eng tool"):
        assert name not in page
    assert "groups let them sign in to" in page


def test_no_applications_says_none(org_admin_client, org, alice):
    page = org_admin_client.get(url("user-detail", org, alice)).content.decode()
    assert "None." in page


def test_a_disabled_account_is_told_apart(org_admin_client, org, alice):
    web_app(org, "Open wiki")
    alice.status = alice.Status.DISABLED
    alice.save()
    page = org_admin_client.get(url("user-detail", org, alice)).content.decode()
    assert "cannot sign in to any of them now: their account is disabled" in page
    assert "Open wiki" in page


def test_a_suspended_member_shows_no_applications(org_admin_client, org, alice):
    # Reachable applications are account-level facts: only for active members (issue #10).
    web_app(org, "Open wiki")
    Membership.objects.filter(user=alice, org=org).update(status=Membership.Status.SUSPENDED)
    page = org_admin_client.get(url("user-detail", org, alice)).content.decode()
    assert 'id="reachable-apps"' not in page
    assert "Open wiki" not in page
    assert "shown once the membership is active" in page


# ------------------------------------------------------------------------------------------------ sessions

def test_session_summary_counts_live_sessions_only(org_admin_client, org, alice):
    session(alice, seen_ago=timedelta(hours=2))
    latest = session(alice, seen_ago=timedelta(minutes=5))
    session(alice, ended=True)
    session(alice, expired=True, seen_ago=timedelta(days=2))
    summary = user_session_summary(user=alice)
    assert summary.active == 2
    # The ended session was seen most recently of all (just now), so "last seen" includes it.
    assert summary.last_seen_at > latest.last_seen_at
    page = org_admin_client.get(url("user-detail", org, alice)).content.decode()
    assert "2 active sessions" in page
    last_seen = timezone.localtime(summary.last_seen_at)
    assert f"last seen {last_seen.day} {last_seen:%b %Y}, " in page


def test_no_session_ever(org_admin_client, org, alice):
    page = org_admin_client.get(url("user-detail", org, alice)).content.decode()
    assert "No active session" in page
    assert "never signed in" in page


def test_one_session(org_admin_client, org, alice):
    session(alice)
    assert "1 active session " in org_admin_client.get(url("user-detail", org, alice)).content.decode()


# ----------------------------------------------------------------------------------------------- employee id

def test_admin_sets_and_clears_the_employee_id(org_admin_client, org, org_admin, alice):
    detail = org_admin_client.get(url("user-detail", org, alice)).content.decode()
    assert f'action="{url("user-employee-id", org, alice)}"' in detail
    assert org_admin_client.get(url("user-employee-id", org, alice)).status_code == 200
    response = org_admin_client.post(url("user-employee-id", org, alice), {"employee_id": "  HR-0042 "})
    assert response.status_code == 302
    assert response["Location"] == url("user-detail", org, alice)
    assert membership_of(alice, org).employee_id == "HR-0042"
    event = AuditEvent.objects.get(action="membership.updated")
    assert event.actor == org_admin
    assert event.org == org
    assert event.target_type == "orgs.membership"
    assert event.target_id == str(membership_of(alice, org).pk)
    assert event.metadata == {"user": "alice@acme.test", "before": {"employee_id": ""},
                              "after": {"employee_id": "HR-0042"}}
    page = org_admin_client.get(url("user-detail", org, alice)).content.decode()
    assert "<code>HR-0042</code>" in page
    assert "membership.updated" in page  # recent activity about the user

    org_admin_client.post(url("user-employee-id", org, alice), {"employee_id": ""})
    assert membership_of(alice, org).employee_id == ""
    cleared = AuditEvent.objects.filter(action="membership.updated").latest("id")
    assert cleared.metadata["before"] == {"employee_id": "HR-0042"}
    assert cleared.metadata["after"] == {"employee_id": ""}


def test_the_same_value_again_writes_nothing(org, org_admin, alice):
    membership = membership_of(alice, org)
    membership_employee_id_update(membership=membership, employee_id="E1", actor=org_admin)
    membership_employee_id_update(membership=membership, employee_id=" E1 ", actor=org_admin)
    assert AuditEvent.objects.filter(action="membership.updated").count() == 1


@pytest.mark.parametrize(("value", "message"), [
    ("x" * 65, "at most 64 characters"),
    ("E1\tE2", "control characters"),
    ("E1\x00", "Null characters are not allowed"),
])
def test_bad_employee_ids_are_explained_and_change_nothing(org_admin_client, org, alice, value, message):
    response = org_admin_client.post(url("user-employee-id", org, alice), {"employee_id": value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert membership_of(alice, org).employee_id == ""
    assert not AuditEvent.objects.filter(action="membership.updated").exists()


def test_an_employee_id_is_unique_within_an_org_only(org_admin_client, org, other_org, org_admin, alice):
    bob = MembershipFactory(org=org, user=UserFactory(email="bob@acme.test")).user
    membership_employee_id_update(membership=membership_of(bob, org), employee_id="E7", actor=org_admin)
    response = org_admin_client.post(url("user-employee-id", org, alice), {"employee_id": "E7"})
    assert response.status_code == 200
    assert "already has the employee id “E7”" in response.content.decode()
    assert membership_of(alice, org).employee_id == ""
    carol = MembershipFactory(org=other_org, user=UserFactory(email="carol@globex.test")).user
    membership_employee_id_update(membership=membership_of(carol, other_org), employee_id="E7", actor=None)
    assert membership_of(carol, other_org).employee_id == "E7"


def test_service_refuses_a_duplicate(org, org_admin, alice):
    bob = MembershipFactory(org=org, user=UserFactory(email="bob@acme.test")).user
    membership_employee_id_update(membership=membership_of(bob, org), employee_id="E7", actor=org_admin)
    with pytest.raises(DomainError, match="already has"):
        membership_employee_id_update(membership=membership_of(alice, org), employee_id="E7", actor=org_admin)


def test_auditor_sees_the_id_but_may_not_edit(sign_in, org, org_admin, org_auditor, alice):
    membership_employee_id_update(membership=membership_of(alice, org), employee_id="E9", actor=org_admin)
    client = sign_in(org_auditor)
    page = client.get(url("user-detail", org, alice)).content.decode()
    assert "<code>E9</code>" in page
    assert url("user-employee-id", org, alice) not in page
    assert client.get(url("user-employee-id", org, alice)).status_code == 403
    assert client.post(url("user-employee-id", org, alice), {"employee_id": "X"}).status_code == 403
    assert membership_of(alice, org).employee_id == "E9"


def test_only_an_owner_changes_an_owners_employee_id(sign_in, org, org_admin, org_owner):
    admin = sign_in(org_admin)
    assert admin.get(url("user-employee-id", org, org_owner)).status_code == 403
    assert admin.post(url("user-employee-id", org, org_owner), {"employee_id": "X"}).status_code == 403
    assert membership_of(org_owner, org).employee_id == ""
    owner = sign_in(org_owner)
    assert owner.post(url("user-employee-id", org, org_owner), {"employee_id": "O1"}).status_code == 302
    assert membership_of(org_owner, org).employee_id == "O1"


def test_operator_sets_an_employee_id(operator_client, org, operator, alice):
    operator_client.post(url("user-employee-id", org, alice), {"employee_id": "OP-1"})
    assert membership_of(alice, org).employee_id == "OP-1"
    assert AuditEvent.objects.get(action="membership.updated").actor == operator


# ------------------------------------------------------------------------------------------------- queries

def test_detail_queries_stay_bounded(org_admin_client, org, alice, django_assert_max_num_queries):
    groups = [GroupFactory(org=org) for _ in range(10)]
    for group in groups:
        GroupMembershipFactory(group=group, user=alice)
    for n in range(15):
        web_app(org, f"App {n}", allowed_groups=[groups[n % 10]])
    for _ in range(10):
        session(alice)
    for _ in range(25):
        AuditEvent.objects.create(org=org, action="user.updated", target_type="directory.user",
                                  target_id=str(alice.pk), actor=alice)
    # 14: the two-step verification row reads its counts in one query of its own.
    with django_assert_max_num_queries(14):
        response = org_admin_client.get(url("user-detail", org, alice))
    assert response.status_code == 200
    assert "App 14" in response.content.decode()
    assert "10 active sessions" in response.content.decode()


def test_service_refuses_control_characters_and_overlong_ids(org, org_admin, alice):
    with pytest.raises(DomainError, match="control characters"):
        membership_employee_id_update(membership=membership_of(alice, org), employee_id="A\nB", actor=org_admin)
    with pytest.raises(DomainError, match="at most 64"):
        membership_employee_id_update(membership=membership_of(alice, org), employee_id="9" * 65, actor=org_admin)
    assert membership_of(alice, org).employee_id == ""
