"""Webhooks in a real browser: add an endpoint, copy nothing but see the secret once, send a test event to a
real receiver, read its delivery with the response code, delete after the confirmation — with no CSP
violation and no failed resource on the way. Also the audit log's export and retention controls.

GATEHOUSE_SCREENSHOTS=/some/dir saves each page at 390 and 1280 px, light and dark, for a person to look at.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("GATEHOUSE_SCREENSHOTS", "")


def shoot(page, name: str) -> None:
    if not SHOTS:
        return
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for width in (390, 1280):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=str(folder / f"{name}-{width}-{scheme}.png"), full_page=True)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 1280, "height": 800})


def test_add_test_and_delete_an_endpoint(live_server, browser_page, browser_acme_admin, receiver, settings,
                                         console_messages, failed_responses):
    settings.GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE = True
    page = browser_page
    page.goto(f"{live_server.url}/console/acme/")
    page.get_by_role("link", name="Webhooks").click()
    expect(page.get_by_role("heading", name="Webhooks")).to_be_visible()
    expect(page.get_by_text("No endpoints yet.")).to_be_visible()
    shoot(page, "webhooks-list-empty")

    page.get_by_role("button", name="Add endpoint").click()
    page.get_by_label("Endpoint URL").fill("ftp://hooks.example.com/x")
    page.get_by_label("group.created", exact=False).first.check()
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_text("The URL must start with https:// (or http://).")).to_be_visible()
    assert not WebhookEndpoint.objects.exists()
    shoot(page, "webhooks-form-error")

    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_label("Description").fill("CRM sync")
    page.get_by_role("button", name="Add endpoint").click()
    expect(page.get_by_role("heading", name="Endpoint added")).to_be_visible()
    secret = page.locator("#webhook-secret").inner_text()
    assert secret.startswith("whsec_")
    receiver.secret = secret
    shoot(page, "webhooks-secret")

    page.get_by_role("button", name="I have stored it — go to the endpoint").click()
    expect(page.get_by_role("heading", name="CRM sync")).to_be_visible()
    assert secret not in page.content()
    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_text("A test event is on its way")).to_be_visible()
    page.reload()
    expect(page.get_by_role("cell", name="204", exact=True)).to_be_visible()
    assert [p["type"] for p in receiver.payloads()] == ["webhook.test"]
    shoot(page, "webhooks-detail")

    page.get_by_role("link", name="webhook.test").click()
    expect(page.get_by_role("heading", name="Attempts")).to_be_visible()
    expect(page.get_by_role("cell", name="204", exact=True)).to_be_visible()
    shoot(page, "webhooks-delivery")

    page.get_by_role("link", name="Back to the endpoint").click()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_text("Its 1 delivery is deleted, with its attempts.")).to_be_visible()
    shoot(page, "webhooks-delete")
    page.get_by_role("button", name="Delete endpoint").click()
    expect(page.get_by_text("Deleted the endpoint CRM sync.")).to_be_visible()
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()

    assert console_messages == []
    assert failed_responses == []


def test_audit_export_and_retention_controls(live_server, browser_page, browser_acme_admin, console_messages,
                                             failed_responses):
    page = browser_page
    page.goto(f"{live_server.url}/console/acme/audit/")
    expect(page.get_by_role("button", name="Export (CSV)")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export (JSON Lines)").click()
    assert download.value.suggested_filename.startswith("audit-acme-")
    assert download.value.suggested_filename.endswith(".jsonl")
    shoot(page, "audit-list")

    page.get_by_role("link", name="Change retention").click()
    page.get_by_label("Keep audit events for (days)").fill("0")
    page.get_by_role("button", name="Save retention").click()
    expect(page.get_by_text("Ensure this value is greater than or equal to 1.")).to_be_visible()
    shoot(page, "audit-retention")
    page.get_by_label("Keep audit events for (days)").fill("400")
    page.get_by_role("button", name="Save retention").click()
    # Events kept for ever until now: a shorter retention purges, so it asks first (docs/confirmations.md).
    expect(page.get_by_role("heading", name="Keep audit events for only 400 days?")).to_be_visible()
    page.get_by_role("button", name="Keep events for 400 days").click()
    expect(page.get_by_text("Events are kept for 400 days, then purged")).to_be_visible()

    assert console_messages == []
    assert failed_responses == []
