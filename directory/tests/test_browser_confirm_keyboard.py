"""A confirmation page used with the keyboard alone (issue #13): from a member's page, Tab to "Suspend
membership" and press Enter; on the confirmation page, Tab to the confirm button and press Enter; the member is
suspended. No mouse, no JavaScript needed by the page itself."""

import pytest
from playwright.sync_api import expect

from directory.tests.factories import MembershipFactory, UserFactory
from orgs.models import Membership

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUSED_NAME_JS = "() => (document.activeElement?.innerText || document.activeElement?.value || '').trim()"


def tab_to(page, name: str, *, limit: int = 80) -> None:
    """Press Tab until the focused element is the one named `name` (its visible text); fail if it never is."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_NAME_JS)
        if focused == name:
            return
        seen.append(focused)
    raise AssertionError(f"Tab never reached {name!r}; focus went through {seen}")


def test_suspending_a_member_with_the_keyboard_alone(live_server, browser_page, browser_acme_admin,
                                                    console_messages, failed_responses):
    org = browser_acme_admin
    bob = UserFactory(email="bob@acme.test", full_name="Bob Builder")
    membership = MembershipFactory(org=org, role="member", user=bob)
    page = browser_page
    detail = f"{live_server.url}/console/acme/users/{bob.pk}/"
    page.goto(detail)

    tab_to(page, "Suspend membership")
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{live_server.url}/console/acme/users/{bob.pk}/suspend")
    expect(page.get_by_role("heading", level=1)).to_have_text("Suspend the membership of bob@acme.test?")
    expect(page.get_by_text("They are signed out everywhere")).to_be_visible()
    membership.refresh_from_db()
    assert membership.status == Membership.Status.ACTIVE  # asking changed nothing

    tab_to(page, "Suspend bob@acme.test")
    page.keyboard.press("Enter")

    expect(page).to_have_url(detail)
    expect(page.get_by_text("Suspended the membership of bob@acme.test.")).to_be_visible()
    membership.refresh_from_db()
    assert membership.status == Membership.Status.SUSPENDED
    assert not console_messages, console_messages
    assert not failed_responses, failed_responses


def test_cancel_is_reached_with_the_keyboard_and_changes_nothing(live_server, browser_page, browser_acme_admin):
    org = browser_acme_admin
    bob = UserFactory(email="bob@acme.test")
    membership = MembershipFactory(org=org, role="member", user=bob)
    page = browser_page
    page.goto(f"{live_server.url}/console/acme/users/{bob.pk}/suspend")

    tab_to(page, "Cancel")
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{live_server.url}/console/acme/users/{bob.pk}/")
    membership.refresh_from_db()
    assert membership.status == Membership.Status.ACTIVE
