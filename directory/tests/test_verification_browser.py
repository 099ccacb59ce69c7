"""In a real browser: an admin resends a member's verification email from the member page, sees it confirmed,
and a second click within the minute is refused with a message; the settings page's API-keys switch. Pages are
screenshotted at phone and desktop widths, light and dark, under /tmp/verification-*.png."""

import pytest
from playwright.sync_api import expect

from directory.tests.factories import MembershipFactory, UserFactory
from emailqueue.models import OutboundEmail

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, scheme, width)
            page.screenshot(path=f"/tmp/verification-{name}-{scheme}-{width}.png", full_page=True)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 1280, "height": 800})


def test_resend_from_the_member_page(live_server, browser_page, browser_acme_admin, console_messages,
                                     failed_responses):
    page = browser_page
    dana = UserFactory(email="dana@example.test", full_name="Dana Doe", email_verified=False)
    MembershipFactory(org=browser_acme_admin, role="member", user=dana)
    page.goto(f"{live_server.url}/console/acme/users/{dana.pk}/")
    button = page.get_by_role("button", name="Resend verification email")
    expect(button).to_be_visible()
    shoot(page, "member")
    button.click()
    expect(page.get_by_text("Sent a verification email to dana@example.test")).to_be_visible()
    shoot(page, "member-sent")
    assert OutboundEmail.objects.filter(kind="email_verification", recipient="dana@example.test").count() == 1
    page.get_by_role("button", name="Resend verification email").click()
    expect(page.get_by_text("A verification email was sent to dana@example.test moments ago")).to_be_visible()
    assert OutboundEmail.objects.filter(kind="email_verification", recipient="dana@example.test").count() == 1
    assert not console_messages, console_messages
    assert not failed_responses, failed_responses


def test_the_settings_page_switches_api_key_allow_listing(live_server, browser_page, browser_acme_admin,
                                                          console_messages, failed_responses):
    page = browser_page
    page.goto(f"{live_server.url}/console/acme/settings/")
    switch = page.get_by_label("Require an IP allow-list on every API key")
    expect(switch).not_to_be_checked()
    switch.scroll_into_view_if_needed()
    shoot(page, "settings")
    switch.check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_label("Require an IP allow-list on every API key")).to_be_checked()
    browser_acme_admin.refresh_from_db()
    assert browser_acme_admin.api_keys_require_allowlist is True
    assert not console_messages, console_messages
    assert not failed_responses, failed_responses
