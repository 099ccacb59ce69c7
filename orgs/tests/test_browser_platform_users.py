"""In a real browser: the org-create page fills the slug from the name as the operator types (a static
script the CSP allows), the user search finds an account and links to its org, and neither page scrolls
sideways on a phone or a desktop, in light or dark mode. Screenshots go to var/screenshots/platform/."""

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory
from orgs.models import Organization

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots" / "platform"
WIDTHS = (390, 1280)
SCHEMES = ("light", "dark")


def assert_clean(console_messages: list[str], failed_responses: list[str]) -> None:
    assert [m for m in console_messages if "Content Security Policy" in m] == []
    assert [m for m in console_messages if m.startswith(("error:", "pageerror"))] == []
    assert failed_responses == []


def sign_in_operator(page, live_server, next_path: str) -> None:
    UserFactory(email="operator@example.test", full_name="Olive Operator", is_superuser=True)
    page.goto(f"{live_server.url}/login?next={next_path}")
    page.get_by_label("Email").fill("operator@example.test")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}{next_path}")


def shoot_at_every_width(page, name: str) -> None:
    """Screenshots at phone and desktop widths in both schemes; none may scroll sideways."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for scheme in SCHEMES:
        page.emulate_media(color_scheme=scheme)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px ({scheme})"
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}-{scheme}.png"), full_page=True)


def test_the_slug_follows_the_name_until_the_operator_edits_it(live_server, browser_page, console_messages,
                                                              failed_responses):
    page = browser_page
    sign_in_operator(page, live_server, "/console/platform/orgs/new")
    name, slug = page.get_by_label("Name", exact=True), page.get_by_label("Slug")
    name.press_sequentially("Wayne Enterprises, Inc.")
    expect(slug).to_have_value("wayne-enterprises-inc")
    page.get_by_label("First owner's email (optional)").fill("bruce@wayne.example")
    shoot_at_every_width(page, "org-create")
    slug.fill("wayne")
    name.fill("Wayne Enterprises, Inc. (Gotham)")
    expect(slug).to_have_value("wayne")  # the operator's own slug stays
    page.get_by_role("button", name="Create organization").click()
    expect(page).to_have_url(f"{live_server.url}/console/wayne/")
    expect(page.get_by_text("Created Wayne Enterprises, Inc. (Gotham) and invited bruce@wayne.example")).to_be_visible()
    org = Organization.objects.get(slug="wayne")
    assert org.memberships.get().user.email == "bruce@wayne.example"
    assert_clean(console_messages, failed_responses)


def test_the_user_search_finds_an_account_and_links_to_its_org(live_server, browser_page, console_messages,
                                                              failed_responses):
    org = OrganizationFactory(slug="acme", name="Acme Corp")
    other = OrganizationFactory(slug="globex", name="Globex Corporation International Holdings")
    dana = UserFactory(email="dana.scully-with-a-very-long-address@federal-bureau.example", full_name="Dana Scully")
    MembershipFactory(org=org, user=dana, role="admin")
    MembershipFactory(org=other, user=dana, role="member", status="invited")
    MembershipFactory(org=org, user=UserFactory(email="fox@acme.example", full_name="Fox Mulder"), role="owner")
    page = browser_page
    sign_in_operator(page, live_server, "/console/platform/users/")
    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_label("Email or name starts with").fill("DANA")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(f"{live_server.url}/console/platform/users/?q=DANA")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Globex Corporation International Holdings · Member · Invited")
    shoot_at_every_width(page, "user-search")
    rows.first.get_by_role("link", name="Acme Corp").click()
    expect(page).to_have_url(f"{live_server.url}/console/acme/users/{dana.pk}/")
    assert_clean(console_messages, failed_responses)
