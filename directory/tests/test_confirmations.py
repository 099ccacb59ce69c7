"""Every destructive action on members and groups shows its confirmation page first, naming what happens and to
whom, and changes nothing until it is confirmed (issue #13). Suspending a membership and taking someone out of a
group were one click; removal, ending sessions, resetting two-step verification and deleting a group had their
own pages already and are held to the same rule here."""

from collections.abc import Callable
from dataclasses import dataclass
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from applications.models import Application
from applications.role_services import app_role_create
from applications.tests.token_factories import issue_tokens, web_app
from audit.models import AuditEvent
from directory.models import Group, GroupMembership
from directory.tests.factories import GroupFactory, GroupMembershipFactory, MembershipFactory, UserFactory
from identity.mfa.models import TotpDevice
from identity.mfa.tests.support import enrol_totp
from identity.models import UserSession
from orgs.models import Membership

pytestmark = pytest.mark.django_db


def url(name, org, **kwargs):
    return reverse(f"console:{name}", kwargs={"org_slug": org.slug, **kwargs})


def text(response) -> str:
    return unescape(response.content.decode())


@dataclass
class Case:
    url: str
    says: list[str]  # on the confirmation page
    done: Callable[[], bool]
    audit: str
    asks_on_post: bool = True  # False: the page is reached by GET, and any POST acts (a dedicated page)


@pytest.fixture
def bob(org, sign_in):
    """An active member with two signed-in browsers and a live sign-in at one of the org's apps."""
    user = UserFactory(email="bob@acme.test")
    MembershipFactory(org=org, role="member", user=user)
    sign_in(user, Client())
    sign_in(user, Client())
    issue_tokens(application=web_app(org, "HR portal"), user=user)
    return user


def suspend_member(org, bob):
    membership = Membership.objects.get(org=org, user=bob)
    return Case(url("user-suspend", org, pk=bob.pk), [
        "Suspend the membership of bob@acme.test?",
        "bob@acme.test can no longer sign in to Acme Corp's applications.",
        "2 live tokens they hold for Acme Corp's applications are revoked.",
        "They are signed out everywhere: their 2 active sessions end",
        "You can reactivate the membership later",
    ], lambda: Membership.objects.get(pk=membership.pk).status == Membership.Status.SUSPENDED, "membership.suspended")


def remove_from_group(org, bob):
    group = GroupFactory(org=org, name="Engineering", slug="engineering")
    GroupMembershipFactory(group=group, user=bob)
    app = Application.objects.get(org=org, name="HR portal")
    app.allowed_groups.add(group)
    app_role_create(application=app, key="hr:admin", name="HR admins", groups=[group], actor=None)
    return Case(url("group-member-remove", org, pk=group.pk, user_id=bob.pk), [
        "Remove bob@acme.test from the group Engineering?",
        "bob@acme.test leaves the group Engineering and is told by email.",
        "They can no longer sign in to these applications, limited to groups they are no longer in: HR portal.",
        "They no longer receive these app roles: hr:admin (HR portal).",
        "Tokens already issued keep the group until they expire.",
    ], lambda: not GroupMembership.objects.filter(group=group, user=bob).exists(), "group.member_removed")


def remove_member(org, bob):
    return Case(url("user-remove", org, pk=bob.pk), [
        "Remove bob@acme.test from Acme Corp?", "Their sign-ins and tokens for this organization's applications are "
        "revoked."], lambda: not Membership.objects.filter(org=org, user=bob).exists(), "membership.removed",
        asks_on_post=False)


def end_sessions(org, bob):
    return Case(url("user-sessions-end", org, pk=bob.pk), [
        "End all sessions of bob@acme.test?", "They are signed in on 2 devices or browsers now."],
        lambda: not UserSession.objects.filter(user=bob, ended_at__isnull=True).exists(), "sessions.ended",
        asks_on_post=False)


def reset_mfa(org, bob):
    enrol_totp(bob)
    return Case(url("user-mfa-reset", org, pk=bob.pk), [
        "Reset the two-step verification of bob@acme.test?", "1 authenticator app is removed."],
        lambda: not TotpDevice.objects.filter(user=bob).exists(), "mfa.reset", asks_on_post=False)


def delete_group(org, bob):
    group = GroupFactory(org=org, name="Sales", slug="sales")
    GroupMembershipFactory(group=group, user=bob)
    return Case(url("group-delete", org, pk=group.pk), [
        "Delete the group Sales?", "1 member leaves the group and is told by email."],
        lambda: not Group.objects.filter(pk=group.pk).exists(), "group.deleted", asks_on_post=False)


CASES = {f.__name__: f for f in [suspend_member, remove_from_group, remove_member, end_sessions, reset_mfa,
                                 delete_group]}


def _first_requests(client, case):
    yield client.get(case.url)
    if case.asks_on_post:
        yield client.post(case.url)


@pytest.mark.parametrize("action", CASES)
def test_the_confirmation_page_comes_first_and_changes_nothing(org_owner, sign_in, org, bob, action):
    case = CASES[action](org, bob)
    owner = sign_in(org_owner)
    events = AuditEvent.objects.count()
    for response in _first_requests(owner, case):
        assert response.status_code == 200
        page = text(response)
        for sentence in case.says:
            assert sentence in page, sentence
        assert not case.done()
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("action", CASES)
def test_the_confirmed_post_makes_the_change_and_audits_it(org_owner, sign_in, org, bob, action):
    case = CASES[action](org, bob)
    owner = sign_in(org_owner)
    response = owner.post(case.url, {"confirmed": "1"})
    assert response.status_code == 302
    assert case.done()
    assert AuditEvent.objects.filter(action=case.audit, org=org, actor=org_owner).count() == 1


@pytest.mark.parametrize("action", CASES)
def test_another_orgs_admin_gets_404_on_both_steps(other_org_admin_client, org, bob, action):
    case = CASES[action](org, bob)
    events = AuditEvent.objects.count()
    assert other_org_admin_client.get(case.url).status_code == 404
    assert other_org_admin_client.post(case.url).status_code == 404
    assert other_org_admin_client.post(case.url, {"confirmed": "1"}).status_code == 404
    assert not case.done()
    assert AuditEvent.objects.count() == events


def test_the_suspend_page_has_a_named_danger_button_and_a_way_back(org_admin_client, org, bob):
    page = org_admin_client.get(url("user-suspend", org, pk=bob.pk)).content.decode()
    assert '<button type="submit" class="danger">Suspend bob@acme.test</button>' in page
    assert '<input type="hidden" name="confirmed" value="1">' in page
    assert f'href="{url("user-detail", org, pk=bob.pk)}" role="button" class="secondary outline">Cancel</a>' in page


def test_an_invitation_cannot_be_suspended_and_the_page_tells_nothing_about_the_account(org_admin_client, org):
    """The address may be someone else's account (issue #10): no session or token counts, no button."""
    invited = UserFactory(email="carol@elsewhere.test")
    MembershipFactory(org=org, role="member", status=Membership.Status.INVITED, user=invited)
    page = text(org_admin_client.post(url("user-suspend", org, pk=invited.pk)))
    assert "carol@elsewhere.test has not accepted the invitation yet; remove it instead." in page
    assert "session" not in page.split("<main", 1)[1]
    assert 'name="confirmed"' not in page


def test_an_admin_cannot_even_open_the_suspend_page_of_an_owner(org_admin_client, org, org_owner):
    assert org_admin_client.get(url("user-suspend", org, pk=org_owner.pk)).status_code == 403
    assert org_admin_client.post(url("user-suspend", org, pk=org_owner.pk)).status_code == 403


def test_removing_from_a_group_keeps_what_another_group_still_gives(org_admin_client, org, bob):
    case = remove_from_group(org, bob)
    other = GroupFactory(org=org, name="HR", slug="hr")
    GroupMembershipFactory(group=other, user=bob)
    Application.objects.get(org=org, name="HR portal").allowed_groups.add(other)
    page = text(org_admin_client.get(case.url))
    assert "They keep access to every application: none is limited to this group alone for them." in page
    assert "hr:admin (HR portal)" in page  # the role is granted to Engineering only
