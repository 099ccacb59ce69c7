"""The API keys page in Chromium: deactivate and reactivate a key from its row, with no CSP violation."""

import pytest
from playwright.sync_api import expect

from applications.apikey_services import api_key_create
from applications.models import ApiKey
from directory.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_deactivate_and_reactivate_from_the_list(live_server, browser_page, browser_acme_admin, console_messages,
                                                 failed_responses):
    admin = User.objects.get(email="admin@acme.test")
    for name in ("HR sync", "Payroll export"):
        api_key_create(org=browser_acme_admin, actor=admin, request=None, name=name,
                       scopes=["members.view", "groups.view"])
    page = browser_page
    page.goto(f"{live_server.url}/console/acme/api-keys/")
    page.get_by_role("button", name="Deactivate HR sync").click()
    # It asks first (docs/confirmations.md); the confirmation's button carries the same name.
    expect(page.get_by_role("heading", name="Deactivate the API key HR sync?")).to_be_visible()
    assert ApiKey.objects.get(name="HR sync").deactivated_at is None
    page.get_by_role("button", name="Deactivate HR sync").click()
    expect(page.get_by_text("Deactivated the key HR sync")).to_be_visible()
    page.set_viewport_size({"width": 1280, "height": 800})
    page.screenshot(path="/tmp/gatehouse-apikeys-desktop.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path="/tmp/gatehouse-apikeys-phone.png", full_page=True)
    assert ApiKey.objects.get(name="HR sync").deactivated_at is not None
    page.get_by_role("button", name="Reactivate HR sync").click()
    expect(page.get_by_text("Reactivated the key HR sync")).to_be_visible()
    assert ApiKey.objects.get(name="HR sync").deactivated_at is None
    assert not [message for message in console_messages if "Content Security Policy" in message]
    assert failed_responses == []
