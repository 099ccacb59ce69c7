"""Ending a member's sessions from the console, and the browser sessions that suspension, removal and
disabling end at once."""

import pytest
from django.test import Client

from audit.models import AuditEvent
from directory.services import user_disable
from directory.tests.factories import MembershipFactory, UserFactory
from identity.models import UserSession
from orgs.models import Membership

pytestmark = pytest.mark.django_db


def _url(org, user) -> str:
    return f"/console/{org.slug}/users/{user.pk}/sessions/end"


def _signed_in(browser) -> bool:
    return browser.get("/account/").status_code == 200


@pytest.fixture
def alice(org):
    return MembershipFactory(org=org, role="member", user=UserFactory(email="alice@example.test")).user


@pytest.fixture
def alice_browsers(sign_in, alice):
    return [sign_in(alice, Client()), sign_in(alice, Client())]


def test_the_member_page_offers_it_to_admins(org_admin_client, org, alice):
    html = org_admin_client.get(f"/console/{org.slug}/users/{alice.pk}/").content.decode()

    assert f'href="{_url(org, alice)}"' in html
    assert "End all sessions…" in html


def test_get_asks_first_naming_what_happens_and_ends_nothing(org_admin_client, org, alice, alice_browsers):
    response = org_admin_client.get(_url(org, alice))

    assert response.status_code == 200
    html = response.content.decode()
    assert "End all sessions of alice@example.test?" in html
    assert "They are signed in on 2 devices or browsers now." in html
    assert "signs them out everywhere" in html
    assert "Acme Corp's applications received in those sessions are revoked" in html
    assert "suspend the membership instead" in html
    assert all(_signed_in(browser) for browser in alice_browsers)
    assert not AuditEvent.objects.filter(action="sessions.ended").exists()


def test_post_signs_every_browser_out_and_is_audited(org_admin_client, org, org_admin, alice, alice_browsers):
    sids = set(UserSession.objects.filter(user=alice).values_list("sid", flat=True))

    response = org_admin_client.post(_url(org, alice))

    assert response.status_code == 302
    assert response["Location"] == f"/console/{org.slug}/users/{alice.pk}/"
    assert "Ended 2 sessions of alice@example.test." in org_admin_client.get(response["Location"]).content.decode()
    assert not any(_signed_in(browser) for browser in alice_browsers)
    assert not UserSession.objects.live().filter(user=alice).exists()
    event = AuditEvent.objects.get(action="sessions.ended")
    assert (event.actor, event.org, event.target_type, event.target_id) == (
        org_admin, org, "directory.user", str(alice.pk))
    assert event.metadata["reason"] == "ended_by_admin"
    assert event.metadata["count"] == 2
    assert set(event.metadata["sids"]) == sids
    # The admin's own session is untouched.
    assert _signed_in(org_admin_client)


def test_post_with_no_session_says_so_and_records_nothing(org_admin_client, org, alice):
    response = org_admin_client.post(_url(org, alice), follow=True)

    assert "alice@example.test had no session to end." in response.content.decode()
    assert not AuditEvent.objects.filter(action="sessions.ended").exists()


def test_another_orgs_admin_gets_404_and_changes_nothing(other_org_admin_client, org, alice, alice_browsers):
    assert other_org_admin_client.get(_url(org, alice)).status_code == 404
    assert other_org_admin_client.post(_url(org, alice)).status_code == 404
    # Through their own org's URL too: alice is not their member.
    assert other_org_admin_client.post(f"/console/globex/users/{alice.pk}/sessions/end").status_code == 404
    assert all(_signed_in(browser) for browser in alice_browsers)
    assert not AuditEvent.objects.filter(action="sessions.ended").exists()


@pytest.mark.parametrize("pk", ["999999", "0"])
def test_unknown_members_are_404(org_admin_client, org, pk):
    assert org_admin_client.post(f"/console/{org.slug}/users/{pk}/sessions/end").status_code == 404


def test_an_auditor_may_not(client, sign_in, org, org_auditor, alice, alice_browsers):
    sign_in(org_auditor)

    assert client.get(_url(org, alice)).status_code == 403
    assert client.post(_url(org, alice)).status_code == 403
    assert all(_signed_in(browser) for browser in alice_browsers)


def test_an_admin_may_not_end_an_owners_sessions_but_an_owner_may(client, sign_in, org, org_admin, org_owner):
    owner_browser = sign_in(org_owner, Client())
    sign_in(org_admin)

    assert client.post(_url(org, org_owner)).status_code == 403
    assert _signed_in(owner_browser)

    other_owner = MembershipFactory(org=org, role="owner", user=UserFactory(email="o2@acme.test")).user
    sign_in(other_owner)
    assert client.post(_url(org, org_owner)).status_code == 302
    assert not _signed_in(owner_browser)


def test_an_invited_member_is_refused_with_a_reason(org_admin_client, org, sign_in):
    invited = MembershipFactory(org=org, role="member", status=Membership.Status.INVITED,
                                user=UserFactory(email="ivy@example.test")).user
    browser = sign_in(invited, Client())

    response = org_admin_client.post(_url(org, invited), follow=True)

    assert "is not an active member of Acme Corp" in response.content.decode()
    assert _signed_in(browser)
    assert org_admin_client.get(_url(org, invited)).status_code == 302


def test_needs_csrf(sign_in, org, org_admin, alice, alice_browsers):
    console = sign_in(org_admin, Client(enforce_csrf_checks=True))

    assert console.post(_url(org, alice)).status_code == 403
    assert all(_signed_in(browser) for browser in alice_browsers)


# --- suspension, removal and disabling end the browser sessions at once ----------------------------------


def test_suspending_from_the_console_signs_the_members_browser_out_at_once(org_admin_client, org, org_admin, alice,
                                                                          alice_browsers):
    response = org_admin_client.post(f"/console/{org.slug}/users/{alice.pk}/suspend", {"confirmed": "1"})

    assert response.status_code == 302
    assert not any(_signed_in(browser) for browser in alice_browsers)
    event = AuditEvent.objects.get(action="sessions.ended")
    assert (event.actor, event.org, event.metadata["reason"], event.metadata["count"]) == (
        org_admin, org, "membership.suspended", 2)
    assert AuditEvent.objects.get(action="membership.suspended").metadata["sessions_ended"] == 2


def test_removing_from_the_console_signs_the_members_browser_out_at_once(org_admin_client, org, alice,
                                                                         alice_browsers):
    response = org_admin_client.post(f"/console/{org.slug}/users/{alice.pk}/remove")

    assert response.status_code == 302
    assert not any(_signed_in(browser) for browser in alice_browsers)
    assert AuditEvent.objects.get(action="sessions.ended").metadata["reason"] == "membership.removed"


def test_removing_an_invitation_leaves_the_accounts_sessions_alone(org_admin_client, org, other_org, sign_in):
    # Someone active in Globex, invited to Acme: Acme taking the invitation back signs them out of nothing.
    person = MembershipFactory(org=other_org, role="member", user=UserFactory(email="pat@example.test")).user
    MembershipFactory(org=org, user=person, role="member", status=Membership.Status.INVITED)
    browser = sign_in(person, Client())

    assert org_admin_client.post(f"/console/{org.slug}/users/{person.pk}/remove").status_code == 302

    assert _signed_in(browser)
    assert not AuditEvent.objects.filter(action="sessions.ended").exists()


def test_disabling_the_account_signs_every_browser_out_at_once(operator, alice, alice_browsers):
    user_disable(user=alice, actor=operator, reason="left the company")

    assert not any(_signed_in(browser) for browser in alice_browsers)
    event = AuditEvent.objects.get(action="sessions.ended")
    assert (event.actor, event.org, event.metadata["reason"]) == (operator, None, "user.disabled")
