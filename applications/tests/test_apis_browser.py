"""Registered APIs in a real browser: register one through the form, copy its secret once, grant its scopes
to an application, all under the strict CSP and without sideways scrolling on a phone."""

import pytest
from playwright.sync_api import expect

from applications.models import Api
from applications.services import application_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_registers_an_api_and_grants_its_scopes(live_server, browser_page, browser_acme_admin,
                                                         console_messages, failed_responses):
    page = browser_page
    application_create(org=browser_acme_admin, name="Billing job", kind="machine")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    page.get_by_role("link", name="APIs", exact=True).click()
    expect(page.get_by_text("No APIs registered yet.")).to_be_visible()
    page.get_by_role("button", name="Register API").click()
    page.get_by_label("Name").fill("Orders API")
    page.get_by_label("Identifier (audience)").fill("https://orders.acme.test#v1")
    page.get_by_label("Scopes").fill("orders:read — Read your orders\norders:write — Place orders")
    page.get_by_role("button", name="Register API").click()
    expect(page.get_by_text("An identifier must not contain a fragment (#).")).to_be_visible()
    assert not Api.objects.exists()

    page.get_by_label("Identifier (audience)").fill("https://orders.acme.test")
    page.get_by_role("button", name="Register API").click()
    expect(page.get_by_text("Copy it now: it is shown only this once.")).to_be_visible()
    secret = page.locator("#api-client-secret").inner_text().strip()
    page.bring_to_front()
    copy_button = page.locator('[data-copy-target="api-client-secret"]')
    copy_button.click()
    expect(copy_button).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == secret

    page.get_by_role("button", name="I have stored it — go to the API").click()
    expect(page.get_by_role("heading", name="Orders API")).to_be_visible()
    assert secret not in page.content()
    expect(page.get_by_text("No application is granted this API's scopes yet.")).to_be_visible()

    page.get_by_role("link", name="Applications", exact=True).click()
    page.get_by_role("link", name="Billing job").click()
    page.get_by_role("button", name="Change API access").click()
    page.get_by_label("orders:read — Read your orders").check()
    page.get_by_role("button", name="Save API access").click()
    expect(page.get_by_text("Saved the API access of Billing job.")).to_be_visible()
    expect(page.get_by_role("region", name="API access")).to_contain_text("orders:read — Read your orders")

    page.set_viewport_size({"width": 390, "height": 800})
    page.get_by_role("button", name="Menu").click()  # on a phone the sidebar folds behind the menu button
    page.get_by_role("link", name="APIs", exact=True).click()
    row = page.get_by_role("row").filter(has_text="Orders API")
    expect(row).to_contain_text("https://orders.acme.test")
    table_width = page.evaluate("document.querySelector('.api-list').scrollWidth")
    main_width = page.evaluate("document.querySelector('main').clientWidth")
    assert table_width <= main_width

    assert not [m for m in console_messages if "Content Security Policy" in m]
    assert not [m for m in console_messages if m.startswith("pageerror")]
    assert failed_responses == []
