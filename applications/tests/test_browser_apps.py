"""Applications in a real browser: create a web app through the guided form, copy its secret once, and
the copied secret authenticates at the token endpoint; reloading never shows the secret again."""

import base64

import pytest
import requests
from playwright.sync_api import expect

from applications.models import Application
from audit.models import AuditEvent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_creates_a_web_app_and_copies_its_secret(live_server, browser_page, browser_acme_admin,
                                                           console_messages, failed_responses):
    page = browser_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    page.get_by_role("link", name="Applications").first.click()
    page.get_by_role("button", name="Create application").click()  # a link styled as a button
    page.get_by_role("link", name="Web application (confidential)").click()
    page.get_by_label("Name", exact=True).fill("HR portal")
    page.get_by_label("Redirect URIs", exact=True).fill("https://hr.example/callback")
    page.get_by_label("openid — Sign you in").check()
    page.get_by_label("email — See your email address").check()
    page.get_by_label("Refresh token lifetime (seconds, optional)").fill("86400")
    page.get_by_role("button", name="Create application").click()

    expect(page.get_by_text("Copy it now: it is shown only this once.")).to_be_visible()
    secret = page.locator("#client-secret").inner_text().strip()
    assert len(secret) >= 40
    app = Application.objects.get(name="HR portal")
    assert app.kind == "web"
    assert app.allowed_scopes == "openid email"
    assert app.refresh_token_lifetime == 86400
    assert AuditEvent.objects.filter(action="application.created", target_id=str(app.pk)).exists()
    # The Clipboard API needs a focused document; a headless page is not always focused on its own.
    page.bring_to_front()
    copy_button = page.locator('[data-copy-target="client-secret"]')
    copy_button.click()
    expect(copy_button).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == secret

    # The secret page is the answer to the POST: reloading it sends the form again, which is
    # recognised as a resend — no second app, no secret, a message instead.
    page.reload()
    expect(page.get_by_text("That form was already sent and the application created")).to_be_visible()
    assert Application.objects.count() == 1
    assert secret not in page.content()
    expect(page.get_by_role("row").filter(has_text="HR portal")).to_contain_text(app.client_id)
    page.get_by_role("link", name="HR portal").click()
    expect(page.get_by_role("heading", name="HR portal")).to_be_visible()
    assert secret not in page.content()

    # The copied secret authenticates: a refresh with a bad token is refused for the grant
    # (invalid_grant), not for the client (invalid_client) — as a wrong secret is.
    auth = "Basic " + base64.b64encode(f"{app.client_id}:{copied}".encode()).decode()
    answer = requests.post(f"{live_server.url}/oauth/token", data={"grant_type": "refresh_token",
                                                                   "refresh_token": "not-a-token"},
                           headers={"Authorization": auth}, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    wrong = "Basic " + base64.b64encode(f"{app.client_id}:wrong".encode()).decode()
    refused = requests.post(f"{live_server.url}/oauth/token", data={"grant_type": "refresh_token",
                                                                    "refresh_token": "not-a-token"},
                            headers={"Authorization": wrong}, timeout=10)
    assert refused.json()["error"] == "invalid_client"

    assert not [m for m in console_messages if "Content Security Policy" in m]
    assert not [m for m in console_messages if m.startswith("pageerror")]
    assert failed_responses == []
