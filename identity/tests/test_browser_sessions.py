"""Session control and email verification in a real browser (system Chromium through Playwright): signing
another browser out from /account/, an admin's confirmation page, the verification link's page."""

from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from conftest import browser_sign_in
from directory.services import user_create
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory
from identity.tests.link_support import last_link

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/gatehouse-shots/sessions")


def _shoot(page, name: str, content: str = "html") -> None:
    """Phone and desktop widths, light and dark: what a person would see, kept for looking at. `content`:
    the element that must not scroll sideways (the console's own header is not this page's to fix)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=str(SHOTS / f"{name}-{width}-{scheme}.png"), full_page=True)
            # Nothing scrolls sideways at this width.
            assert page.evaluate(f"(e => e.scrollWidth <= e.clientWidth + 1)(document.querySelector('{content}'))"), (
                name, width)
    page.set_viewport_size({"width": 1280, "height": 800})


def _no_page_errors(console_messages: list[str]) -> None:
    assert not [m for m in console_messages if "Content Security Policy" in m or m.startswith("pageerror")]


def test_signing_another_browser_out_from_the_account_page(live_server, browser_page, console_messages,
                                                          failed_responses):
    org = OrganizationFactory(slug="acme", name="Acme Corp")
    MembershipFactory(org=org, role="member", user=UserFactory(email="bob@acme.test", full_name="Bob Member"))
    phone = browser_page.context.browser.new_context(
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                   "Version/17.4 Mobile/15E148 Safari/604.1").new_page()
    browser_sign_in(phone, live_server, email="bob@acme.test", password=DEFAULT_PASSWORD, lands_on="/account/")
    page = browser_page
    browser_sign_in(page, live_server, email="bob@acme.test", password=DEFAULT_PASSWORD, lands_on="/account/")

    sessions = page.locator(".session-list > li")
    expect(sessions).to_have_count(2)
    expect(sessions.first.get_by_text("(this session)")).to_be_visible()
    expect(page.get_by_role("link", name="Security: authenticator apps, passkeys, recovery codes")).to_be_visible()
    _shoot(page, "account")

    page.get_by_role("button", name="Sign out Safari on iOS").click()

    expect(page.get_by_text("Safari on iOS has been signed out.")).to_be_visible()
    expect(sessions).to_have_count(1)
    phone.reload()
    expect(phone).to_have_url(f"{live_server.url}/login?next=/account/")
    page.reload()
    expect(page).to_have_url(f"{live_server.url}/account/")
    _no_page_errors(console_messages)
    assert failed_responses == []


def test_an_admins_confirmation_page(live_server, browser_page, browser_acme_admin, console_messages,
                                     failed_responses):
    member = MembershipFactory(org=browser_acme_admin, role="member",
                               user=UserFactory(email="carol@acme.test", full_name="Carol")).user
    page = browser_page

    page.goto(f"{live_server.url}/console/acme/users/{member.pk}/")
    page.get_by_role("button", name="End all sessions…").click()

    expect(page.get_by_role("heading", level=1, name="End all sessions of carol@acme.test?")).to_be_visible()
    _shoot(page, "console-end-sessions", content=".console-main")
    page.get_by_role("button", name="End all sessions of carol@acme.test").click()
    expect(page.get_by_text("carol@acme.test had no session to end.")).to_be_visible()
    _no_page_errors(console_messages)
    assert failed_responses == []


def test_verifying_an_email_address_in_the_browser(live_server, browser_page, console_messages, failed_responses):
    org = OrganizationFactory(slug="acme", name="Acme Corp")
    user = user_create(email="dana@acme.test", password=DEFAULT_PASSWORD, full_name="Dana")
    MembershipFactory(org=org, user=user, role="member", created_at=timezone.now())
    page = browser_page
    browser_sign_in(page, live_server, email="dana@acme.test", password=DEFAULT_PASSWORD, lands_on="/account/")
    expect(page.get_by_text("Your email address dana@acme.test is not verified yet.")).to_be_visible()
    _shoot(page, "account-unverified")

    page.goto(f"{live_server.url}{last_link(kind='email_verification')}")
    expect(page.get_by_role("heading", name="Verify your email address")).to_be_visible()
    _shoot(page, "verify-link")
    page.get_by_role("button", name="Verify dana@acme.test").click()

    expect(page).to_have_url(f"{live_server.url}/account/")
    expect(page.get_by_text("Your email address dana@acme.test is verified.")).to_be_visible()
    expect(page.get_by_text("is not verified yet")).to_have_count(0)
    _no_page_errors(console_messages)
    assert failed_responses == []
