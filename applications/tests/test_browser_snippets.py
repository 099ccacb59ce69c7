"""The integration snippets in a real browser: each library is a <details> that opens without JavaScript's
help, long code lines scroll inside their box rather than widening the page on a phone or a desktop, in
light or dark mode, and nothing breaks the CSP. Screenshots go to var/screenshots/snippets/."""

from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from applications.api_services import api_create, application_api_scopes_set
from applications.services import application_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots" / "snippets"
# The innermost elements that stick out past the viewport's right edge: what to fix when a page overflows.
WIDEST_JS = """() => [...document.querySelectorAll('body *')]
  .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .filter(el => ![...el.children].some(c => c.getBoundingClientRect().right > document.documentElement.clientWidth + 1))
  .slice(0, 5).map(el => `${el.tagName.toLowerCase()}#${el.id}.${el.className}: ${el.textContent.slice(0, 60)}`)"""


def assert_clean(console_messages: list[str], failed_responses: list[str]) -> None:
    assert [m for m in console_messages if "Content Security Policy" in m] == []
    assert [m for m in console_messages if m.startswith(("error:", "pageerror"))] == []
    assert failed_responses == []


def open_every_library_and_shoot(page, name: str) -> None:
    summaries = page.locator("details.snippet > summary")
    for i in range(summaries.count()):
        details = page.locator("details.snippet").nth(i)
        if details.get_attribute("open") is None:
            summaries.nth(i).click()
        expect(details.locator("pre")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, (f"{name} scrolls sideways by {overflow}px at {width}px ({scheme}): "
                                   f"{page.evaluate(WIDEST_JS)}")
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}-{scheme}.png"), full_page=True)


@pytest.mark.parametrize(("kind", "first", "second"), [
    ("spa", "oidc-client-ts", "react-oidc-context (React)"),
    ("native", "AppAuth for iOS (Swift)", "AppAuth for Android (Kotlin)"),
    ("web", "Authlib (Flask)", "mozilla-django-oidc (Django)"),
    ("machine", "curl", "Python (httpx)"),
])
def test_each_kinds_libraries_open_and_fit(live_server, browser_page, browser_acme_admin, console_messages,
                                         failed_responses, kind, first, second):
    org = browser_acme_admin
    redirect = {"spa": "https://spa.example/callback", "native": "com.example.app:/oauth2redirect",
                "web": "https://hr.example/auth/callback"}.get(kind)
    app = application_create(
        org=org, name=f"{kind} app", kind=kind, redirect_uris=[redirect] if redirect else [],
        allowed_origins=["https://spa.example"] if kind == "spa" else []).application
    if kind == "machine":
        api = api_create(org=org, name="Orders", identifier="https://orders.example",
                         scopes=[("orders:read", "Read orders")]).api
        application_api_scopes_set(application=app, scopes=api.scopes.all())
    page = browser_page
    page.goto(f"{live_server.url}/console/acme/applications/{app.pk}/")
    expect(page.locator("details.snippet[open] > summary")).to_have_text(first)
    second_details = page.locator("details.snippet", has=page.get_by_text(second, exact=True))
    expect(second_details.locator("pre")).to_be_hidden()
    second_details.locator("summary").click()
    expect(second_details.locator("pre")).to_be_visible()
    expect(second_details.locator("pre")).to_contain_text(app.client_id)
    open_every_library_and_shoot(page, f"app-{kind}")
    assert_clean(console_messages, failed_responses)


def test_api_page_sdk_snippets_open_and_fit(live_server, browser_page, browser_acme_admin, console_messages,
                                            failed_responses):
    api = api_create(org=browser_acme_admin, name="Orders", identifier="https://orders.example",
                     scopes=[("orders:read", "Read orders")]).api
    page = browser_page
    page.goto(f"{live_server.url}/console/acme/apis/{api.pk}/")
    expect(page.locator("details.snippet[open] > summary")).to_have_text("Django")
    expect(page.locator("#snippet-sdk-django")).to_contain_text('"AUDIENCE": "https://orders.example"')
    open_every_library_and_shoot(page, "api")
    assert_clean(console_messages, failed_responses)
