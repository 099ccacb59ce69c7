"""The API docs page in Chromium: Swagger UI renders the live schema with no CSP violation and no failed load."""

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_docs_page_renders_the_schema_under_the_csp(live_server, browser_page, console_messages,
                                                        failed_responses):
    browser_page.goto(f"{live_server.url}/api/docs")
    expect(browser_page.get_by_text("Gatehouse management API").first).to_be_visible(timeout=15_000)
    expect(browser_page.get_by_text("/api/v1/orgs/{org_slug}/users").first).to_be_visible()
    browser_page.screenshot(path="/tmp/gatehouse-api-docs.png", full_page=False)
    assert not [message for message in console_messages if "Content Security Policy" in message], console_messages
    assert failed_responses == []
