"""Branding in a real browser: the org's accent colour reaches the hosted sign-in page's button, and its
logo loads, under the strict CSP."""

import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from applications.services import application_create
from directory.tests.factories import OrganizationFactory
from orgs.branding import organization_branding_update, organization_logo_set

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AUTHORIZE = "/oauth/authorize?client_id=acme-web&response_type=code&scope=openid&redirect_uri=https://rp.example/cb"
BUTTON_BACKGROUND = "el => getComputedStyle(el).backgroundColor"


def _clean(console_messages: list[str], failed_responses: list[str]) -> None:
    assert [m for m in console_messages if "Content Security Policy" in m] == []
    assert [m for m in console_messages if m.startswith(("error:", "pageerror"))] == []
    assert failed_responses == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_accent_colour_and_logo_apply_to_the_hosted_sign_in(live_server, browser_page, console_messages,
                                                                failed_responses, scheme):
    org = OrganizationFactory(slug="acme", name="Acme Corp")
    organization_branding_update(org=org, actor=None, display_name="Acme Identity", accent_color="#aa3300")
    logo = io.BytesIO()
    Image.new("RGB", (120, 40), (170, 51, 0)).save(logo, format="PNG")
    organization_logo_set(org=org, actor=None, data=logo.getvalue())
    application_create(org=org, name="Acme Web", kind="web", redirect_uris=["https://rp.example/cb"],
                       client_id="acme-web")
    page = browser_page
    page.emulate_media(color_scheme=scheme)

    page.goto(f"{live_server.url}{AUTHORIZE}")

    assert page.url.startswith(f"{live_server.url}/login?next=/oauth/authorize")
    expect(page.locator(".hosted-brand strong")).to_have_text("Acme Identity")
    button = page.get_by_role("button", name="Sign in")
    assert button.evaluate(BUTTON_BACKGROUND) == "rgb(170, 51, 0)"
    image = page.get_by_role("img", name="Acme Identity logo")
    expect(image).to_be_visible()
    assert image.evaluate("el => el.complete && el.naturalWidth") == 120
    _clean(console_messages, failed_responses)


def test_a_plain_sign_in_keeps_the_default_colour(live_server, browser_page, console_messages, failed_responses):
    org = OrganizationFactory(slug="acme", name="Acme Corp")
    organization_branding_update(org=org, actor=None, accent_color="#aa3300")
    page = browser_page

    page.goto(f"{live_server.url}/login")

    assert page.get_by_role("button", name="Sign in").evaluate(BUTTON_BACKGROUND) == "rgb(1, 114, 173)"
    expect(page.locator(".hosted-brand strong")).to_have_text("Gatehouse")
    _clean(console_messages, failed_responses)
