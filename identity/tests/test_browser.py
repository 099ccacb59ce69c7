"""Sign-in in a real browser: the system Chromium, driven by Playwright, against the live server."""

import pytest
from playwright.sync_api import expect

from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = "/tmp/console.png"


def test_owner_signs_in_and_sees_the_org_console(live_server, browser_page, console_messages, failed_responses):
    org = OrganizationFactory(slug="acme", name="Acme Corp")
    MembershipFactory(org=org, role="owner", user=UserFactory(email="alice@acme.test", full_name="Alice Owner"))
    page = browser_page

    page.goto(f"{live_server.url}/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{live_server.url}/console/acme/")
    expect(page.get_by_role("heading", level=1, name="Acme Corp")).to_be_visible()
    expect(page.get_by_role("main").get_by_text("Overview")).to_be_visible()
    expect(page.get_by_role("link", name="Overview")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name="alice@acme.test")).to_be_visible()
    # Stylesheets loaded: pico sets the body's font; an unstyled page would keep the UA default.
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != "Times New Roman"
    page.screenshot(path=SCREENSHOT, full_page=True)

    violations = [message for message in console_messages if "Content Security Policy" in message]
    assert violations == []
    assert not [message for message in console_messages if message.startswith("pageerror")]
    assert failed_responses == []


def test_wrong_password_shows_an_error_in_the_browser(live_server, browser_page, console_messages):
    UserFactory(email="alice@acme.test")
    page = browser_page

    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()

    expect(page.get_by_text("Incorrect email or password.")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/login")
    assert not [message for message in console_messages if "Content Security Policy" in message]
