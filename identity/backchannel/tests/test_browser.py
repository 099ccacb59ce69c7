"""In Chromium: an admin finds a dead back-channel logout on the console page and sends it again."""

import pytest
from playwright.sync_api import expect

from identity.backchannel.models import BackchannelLogout
from identity.backchannel.tests.support import make_app


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_sends_a_dead_delivery_again(browser_acme_admin, browser_page, live_server, receiver,
                                           console_messages):
    org = browser_acme_admin
    app = make_app(org, client_id="hr", logout_uri=receiver.url)
    BackchannelLogout.objects.create(org=org, application=app, subject="0f9e", sid="sid-1", reason="logout",
                                     status="dead", attempts=8, last_error="HTTP 503")
    page = browser_page

    page.goto(f"{live_server.url}/console/acme/applications/{app.pk}/")
    page.get_by_role("link", name="See the deliveries").click()
    expect(page.get_by_role("heading", name="Back-channel logout")).to_be_visible()
    expect(page.get_by_text("Last error: HTTP 503")).to_be_visible()
    page.get_by_role("button", name="Send again").click()

    expect(page.get_by_text("Requeued: hr will be sent the logout token shortly.")).to_be_visible()
    expect(page.get_by_role("button", name="Send again")).to_have_count(0)
    assert BackchannelLogout.objects.get().status == "sent"
    assert len(receiver.requests) == 1
    assert not [m for m in console_messages if "Content Security Policy" in m]
