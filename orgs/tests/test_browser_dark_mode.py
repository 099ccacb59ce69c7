"""Dark mode in a real browser: the hosted sign-in page and the console's charts under a dark colour scheme."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from audit.models import AuditEvent
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory
from emailqueue.models import OutboundEmail
from emailqueue.tests.factories import OutboundEmailFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOT = "/tmp/console-dark.png"

# The background a page paints: the body's if it sets one, else the root element's, else the canvas.
BACKGROUND_JS = """() => {
  for (const el of [document.body, document.documentElement]) {
    const colour = getComputedStyle(el).backgroundColor;
    if (colour !== 'rgba(0, 0, 0, 0)' && colour !== 'transparent') return colour;
  }
  return 'rgb(255, 255, 255)';
}"""


def rgb(colour: str) -> tuple[int, int, int]:
    """'rgb(1, 2, 3)' or 'rgba(1, 2, 3, 0.5)' → (1, 2, 3)."""
    inside = colour[colour.index("(") + 1:colour.index(")")]
    red, green, blue = (round(float(part)) for part in inside.split(",")[:3])
    return red, green, blue


def luminance(colour: str) -> float:
    """Relative luminance (WCAG), 0 for black to 1 for white."""
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(v) for v in rgb(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def assert_dark_page(page) -> str:
    """The page paints a dark background with light text, readable against it; returns the background."""
    background = page.evaluate(BACKGROUND_JS)
    text = page.evaluate("getComputedStyle(document.body).color")
    assert luminance(background) < 0.1, background
    assert luminance(text) > 0.4, text
    assert contrast(text, background) >= 7, (text, background)
    return background


def assert_clean(console_messages: list[str], failed_responses: list[str]) -> None:
    assert [m for m in console_messages if "Content Security Policy" in m] == []
    assert [m for m in console_messages if m.startswith(("error:", "pageerror"))] == []
    assert failed_responses == []


def test_sign_in_page_and_console_charts_render_dark(live_server, browser_page, console_messages,
                                                    failed_responses):
    org = OrganizationFactory(slug="acme", name="Acme Corp")
    owner = MembershipFactory(org=org, role="owner", user=UserFactory(email="alice@acme.test")).user
    now = timezone.now()
    for days_ago in (0, 0, 1, 3):
        AuditEvent.objects.create(org=org, action="login.authorized", actor=owner,
                                  created_at=now - timedelta(days=days_ago))
    AuditEvent.objects.create(org=org, action="login.refused", created_at=now - timedelta(days=1))
    OutboundEmailFactory(org=org, status=OutboundEmail.Status.SENT)
    page = browser_page
    page.emulate_media(color_scheme="dark")

    page.goto(f"{live_server.url}/login")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    assert_dark_page(page)
    # The form's fields are dark too, not white boxes on a dark page.
    email_background = page.get_by_label("Email").evaluate("el => getComputedStyle(el).backgroundColor")
    assert luminance(email_background) < 0.1, email_background

    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/console/acme/")
    background = assert_dark_page(page)

    chart = page.locator("#chart-sign-ins svg.chart-svg")
    expect(chart).to_be_visible()
    expect(chart).to_have_attribute("role", "img")
    bars = page.locator("#chart-sign-ins svg.chart-svg .chart-sign-ins rect")
    expect(bars).to_have_count(3)
    failed_line = page.locator("#chart-sign-ins svg.chart-svg .chart-failed .chart-line")
    for colour in (
        bars.first.evaluate("el => getComputedStyle(el).fill"),
        failed_line.evaluate("el => getComputedStyle(el).stroke"),
        page.locator("#chart-members .chart-status-active rect").evaluate("el => getComputedStyle(el).fill"),
        page.locator("#chart-emails .chart-email-sent rect").evaluate("el => getComputedStyle(el).fill"),
    ):
        assert colour.startswith("rgb"), colour
        assert contrast(colour, background) >= 2, (colour, background)
    # Axis numbers and bar labels are light on the dark page.
    for text in (page.locator("#chart-sign-ins .chart-axis-label").first,
                 page.locator("#chart-members .chart-bar-label").first):
        fill = text.evaluate("el => getComputedStyle(el).fill")
        assert contrast(fill, background) >= 4.5, (fill, background)
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] > 300
    assert box["height"] > 80

    page.locator("#chart-sign-ins summary").click()
    expect(page.locator("#chart-sign-ins table")).to_be_visible()
    page.screenshot(path=SCREENSHOT, full_page=True)
    assert_clean(console_messages, failed_responses)


def test_platform_overview_renders_dark(live_server, browser_page, console_messages, failed_responses):
    UserFactory(email="operator@example.test", is_superuser=True)
    org = OrganizationFactory(slug="acme", name="Acme Corp")
    AuditEvent.objects.create(org=org, action="login.authorized", actor=MembershipFactory(org=org).user)
    page = browser_page
    page.emulate_media(color_scheme="dark")

    page.goto(f"{live_server.url}/login?next=/console/platform/overview")
    page.get_by_label("Email").fill("operator@example.test")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/console/platform/overview")
    expect(page.get_by_role("heading", level=1, name="Platform overview")).to_be_visible()

    background = assert_dark_page(page)
    bar = page.locator("#chart-top-orgs rect").first
    expect(bar).to_be_visible()
    assert contrast(bar.evaluate("el => getComputedStyle(el).fill"), background) >= 2
    assert_clean(console_messages, failed_responses)
