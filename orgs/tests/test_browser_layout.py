"""The console's responsive shell in a real browser: the phone menu with the keyboard alone and without
JavaScript, a 404 that keeps the sidebar, and no page that scrolls sideways, even with overlong names."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory
from emailqueue.tests.factories import OutboundEmailFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
WIDTHS = (360, 390, 768, 1280, 1440)
LONG_EMAIL = "averyveryveryverylongunbrokenlocalpartthatgoesonandon@subdomain.example-corporation.test"
LONG_NAME = "Maximiliana" + "x" * 70 + " Longname"
SIDEWAYS_JS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def focus_by_tab(page, predicate_js: str, *, limit: int = 40) -> None:
    """Press Tab until the focused element satisfies `predicate_js` (a function of the element)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(f"({predicate_js})(document.activeElement)"):
            return
    raise AssertionError(f"Tab never reached {predicate_js}")


def test_the_phone_menu_opens_and_a_link_in_it_is_followed_with_the_keyboard_alone(live_server, browser_page,
                                                                                 browser_acme_admin,
                                                                                 console_messages):
    page = browser_page
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/console/acme/")
    menu = page.get_by_role("button", name="Menu")
    nav = page.locator("#console-nav")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()

    focus_by_tab(page, "el => el.classList.contains('nav-toggle')")
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    # The menu's links follow the button in tab order.
    focus_by_tab(page, "el => el.closest('#console-nav') && el.textContent.trim() === 'Users'", limit=5)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/console/acme/users/")
    expect(page.get_by_role("heading", level=1, name="Users")).to_be_visible()

    # Escape folds the menu again and gives the focus back to its button.
    focus_by_tab(page, "el => el.classList.contains('nav-toggle')")
    page.keyboard.press("Enter")
    expect(nav).to_be_visible()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    assert page.evaluate("document.activeElement.classList.contains('nav-toggle')")
    assert page.evaluate(SIDEWAYS_JS) <= 0
    assert console_messages == []


def test_without_javascript_the_phone_sidebar_stays_open(live_server, browser_page):
    org = OrganizationFactory(slug="acme", name="Acme Corp")
    MembershipFactory(org=org, role="admin", user=UserFactory(email="admin@acme.test"))
    context = browser_page.context.browser.new_context(java_script_enabled=False, viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill("admin@acme.test")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}/console/acme/")
    # No menu button that could not work; the sidebar is simply there, above the page.
    expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    expect(page.locator("#console-nav").get_by_role("link", name="Users")).to_be_visible()
    page.locator("#console-nav").get_by_role("link", name="Users").click()
    expect(page).to_have_url(f"{live_server.url}/console/acme/users/")
    context.close()


def test_a_console_404_keeps_the_sidebar_on_a_phone_and_on_a_desktop(live_server, browser_page, browser_acme_admin,
                                                                      failed_responses):
    page = browser_page
    response = page.goto(f"{live_server.url}/console/acme/users/987654321/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1, name="Page not found")).to_be_visible()
    expect(page.locator("#console-nav").get_by_role("link", name="Applications")).to_be_visible()

    page.set_viewport_size(PHONE)
    page.reload()
    page.get_by_role("button", name="Menu").click()
    page.locator("#console-nav").get_by_role("link", name="Applications").click()
    expect(page).to_have_url(f"{live_server.url}/console/acme/applications/")
    assert [line for line in failed_responses if "987654321" not in line] == []


def test_no_console_page_scrolls_sideways_even_with_overlong_names(live_server, browser_page, browser_acme_admin):
    org = browser_acme_admin
    MembershipFactory(org=org, role="member", user=UserFactory(email=LONG_EMAIL, full_name=LONG_NAME))
    OutboundEmailFactory(org=org, recipient=LONG_EMAIL, subject="Subject " + "y" * 120,
                         body_text="A line with a long link https://example.test/" + "z" * 300 + "\n")
    page = browser_page
    paths = [reverse(f"console:{name}", kwargs={"org_slug": org.slug}) for name in (
        "org-overview", "user-list", "group-list", "app-list", "api-list", "apikey-list", "audit-list",
        "webhook-list", "email-list", "import-list", "org-settings", "user-create")]
    # The detail pages of the overlong member and message, found through their lists.
    page.goto(f"{live_server.url}{reverse('console:user-list', kwargs={'org_slug': org.slug})}")
    paths.append(page.get_by_role("link", name=LONG_EMAIL).get_attribute("href"))
    page.goto(f"{live_server.url}{reverse('console:email-list', kwargs={'org_slug': org.slug})}")
    paths.append(page.get_by_role("link", name="Subject " + "y" * 120).get_attribute("href"))
    wide = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for path in paths:
            page.goto(f"{live_server.url}{path}")
            if (overflow := page.evaluate(SIDEWAYS_JS)) > 0:
                wide.append(f"{path} at {width}px: {overflow}px too wide")
    assert wide == []
