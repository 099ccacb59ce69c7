"""Sign-in in a real browser: the system Chromium, driven by Playwright, against the live server."""

import pytest
from django.db import connections
from playwright.sync_api import expect, sync_playwright

from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOT = "/tmp/console.png"


@pytest.fixture
def allow_orm_beside_event_loop(monkeypatch):
    """Playwright's sync API runs an event loop in this thread; Django then refuses ORM calls here.

    Set per test (not at import) so collecting this module never relaxes the check for other tests.
    """
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def browser_page(allow_orm_beside_event_loop):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 800})
        finally:
            browser.close()
            # While Playwright's loop runs, Django keeps this thread's connections in a context of their
            # own (asgiref's Local); close them now, or PostgreSQL refuses to drop the test database.
            connections.close_all()


@pytest.fixture
def console_messages(browser_page) -> list[str]:
    """What the page logs: CSP violations appear here as "Refused to ... Content Security Policy"."""
    messages: list[str] = []
    browser_page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    browser_page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
    return messages


@pytest.fixture
def failed_responses(browser_page) -> list[str]:
    """Every sub-resource that did not load (a stylesheet, script or icon 404 would leave a broken page)."""
    failed: list[str] = []
    browser_page.on(
        "response",
        lambda response: failed.append(f"{response.status} {response.url}")
        if response.status >= 400 else None,
    )
    return failed


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
