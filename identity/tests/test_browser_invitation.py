"""An invitation in a real browser: from the email in the outbox to the first sign-in."""

import pytest
from playwright.sync_api import expect

from directory.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from identity.tests.link_support import last_link
from orgs.models import Membership
from orgs.services import member_invite

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-enough-passphrase"


def test_an_invitation_from_the_outbox_to_the_first_sign_in(live_server, browser_page, console_messages):
    org = OrganizationFactory(slug="acme", name="Acme Corp")
    admin = MembershipFactory(org=org, role="admin", user=UserFactory(email="admin@acme.test")).user
    membership = member_invite(org=org, email="dana@example.test", role="member", actor=admin)
    # The link as the email carries it, opened on this test's server.
    path = last_link(recipient="dana@example.test")
    page = browser_page

    page.goto(f"{live_server.url}{path}")
    expect(page.get_by_role("heading", name="Set up your account")).to_be_visible()
    expect(page.get_by_text("You are invited to join Acme Corp as Member.")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm new password").fill("not-the-same-passphrase")
    page.get_by_role("button", name="Set password and join").click()
    expect(page.get_by_text("The two passwords do not match.")).to_be_visible()

    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm new password").fill(PASSWORD)
    page.get_by_role("button", name="Set password and join").click()

    expect(page).to_have_url(f"{live_server.url}/login")
    expect(page.get_by_text("Your account is ready and you joined Acme Corp.")).to_be_visible()
    page.get_by_label("Email").fill("dana@example.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{live_server.url}/account/")
    expect(page.get_by_role("cell", name="Acme Corp")).to_be_visible()
    expect(page.get_by_role("cell", name="Active")).to_be_visible()
    assert Membership.objects.get(pk=membership.pk).status == Membership.Status.ACTIVE

    # The link is spent: opening it again explains what to do.
    page.goto(f"{live_server.url}{path}")
    expect(page.get_by_text("This link has already been used.")).to_be_visible()
    assert not [message for message in console_messages if "Content Security Policy" in message]
    assert not [message for message in console_messages if message.startswith("pageerror")]
