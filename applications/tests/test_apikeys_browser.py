"""API keys in a real browser: create one through the form, copy it once, find only its prefix after, revoke."""

import pytest
from playwright.sync_api import expect

from applications.models import ApiKey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_creates_copies_and_revokes_a_key(live_server, browser_page, browser_acme_admin, console_messages,
                                                    failed_responses):
    page = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_role("link", name="API keys")).to_have_attribute("aria-current", "page")
    page.get_by_role("button", name="Create API key").click()  # a link styled as a button
    page.get_by_label("Name").fill("HR sync")
    page.get_by_label("members.view").check()
    page.get_by_label("groups.view").check()
    expect(page.get_by_label("owners.manage")).to_have_count(0)  # an admin cannot grant what they lack
    page.get_by_label("Expires on (optional)").fill("2099-12-31")
    page.get_by_label("IP allow-list (optional)").fill("203.0.113.0/24\n2001:db8::/32")
    page.get_by_role("button", name="Create API key").click()

    expect(page.get_by_text("Copy it now: it is shown only this once.")).to_be_visible()
    raw = page.locator("#api-key").inner_text().strip()
    key = ApiKey.objects.get()
    assert raw.startswith(key.prefix + "_")
    # The Clipboard API needs a focused document; a headless page is not always focused on its own.
    page.bring_to_front()
    copy_button = page.locator('[data-copy-target="api-key"]')
    copy_button.click()
    expect(copy_button).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == raw

    page.get_by_role("button", name="I have stored it — go to API keys").click()
    row = page.get_by_role("row").filter(has_text="HR sync")
    expect(row).to_contain_text(key.prefix)
    expect(row).to_contain_text("Active")
    assert raw not in page.content()

    row.get_by_role("link", name="Revoke HR sync").click()
    page.get_by_role("button", name="Revoke HR sync").click()
    expect(page.get_by_text("Revoked the key HR sync; it stops working now.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="HR sync")).to_contain_text("Revoked")

    assert not [m for m in console_messages if "Content Security Policy" in m]
    assert not [m for m in console_messages if m.startswith("pageerror")]
    assert failed_responses == []
