"""Two-step verification in a real browser (the system Chromium, Playwright): set up an authenticator app on
/account/security, sign out, sign in with the password and a code computed by pyotp, land signed in."""

import re
import time

import pyotp
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from conftest import browser_sign_in
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory
from identity.models import UserSession

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = "/tmp/mfa-{name}-{width}-{scheme}.png"


def _shoot(page, name: str) -> None:
    """The page at phone and desktop widths, light and dark (looked at by hand; not asserted)."""
    for width in (390, 1280):
        for scheme in ("light", "dark"):
            page.set_viewport_size({"width": width, "height": 900})
            page.emulate_media(color_scheme=scheme)
            page.screenshot(path=SHOTS.format(name=name, width=width, scheme=scheme), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.emulate_media(color_scheme="light")


def test_enrol_sign_out_and_sign_in_with_password_and_code(live_server, browser_page, console_messages,
                                                          failed_responses):
    org = OrganizationFactory(slug="acme", name="Acme Corp")
    user = MembershipFactory(org=org, role="member", user=UserFactory(email="bob@acme.test")).user
    page = browser_page
    browser_sign_in(page, live_server, email="bob@acme.test", password=DEFAULT_PASSWORD, lands_on="/account/")

    page.goto(f"{live_server.url}/account/security/")
    expect(page.get_by_role("heading", level=1, name="Two-step verification")).to_be_visible()
    _shoot(page, "security-empty")
    page.get_by_role("button", name="Add an authenticator app").click()
    expect(page.locator(".mfa-qr svg")).to_be_visible()
    page.get_by_text("Can't scan it? Type the setup key instead").click()
    setup_key = page.locator("#totp-setup-key").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", setup_key)
    _shoot(page, "totp-add")
    totp = pyotp.TOTP(setup_key)
    page.get_by_label("Code from your authenticator app").fill(totp.now())
    page.get_by_label("Name it (optional)").fill("Phone")
    page.get_by_role("button", name="Add authenticator app").click()

    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    expect(page.locator("ol.recovery-codes li")).to_have_count(10)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download as a text file").click()
    assert download.value.suggested_filename == "recovery-codes.txt"
    _shoot(page, "recovery-codes")
    page.get_by_role("button", name="I have saved them").click()
    expect(page.get_by_role("cell", name="Phone", exact=True)).to_be_visible()
    expect(page.get_by_text("10 of 10 recovery codes left.")).to_be_visible()
    _shoot(page, "security")

    page.goto(f"{live_server.url}/logout")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Email").fill("bob@acme.test")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # The password's answer is the code form itself (one round trip less than a redirect to it).
    expect(page.get_by_role("heading", name="Two-step verification")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/login")
    page.get_by_label("Code from your authenticator app").fill("000000" if totp.now() != "000000" else "111111")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code is not right")).to_be_visible()
    _shoot(page, "verify-error")
    # django-otp wants a second's pause after a wrong code. Then the code of the next time step: the one
    # used at enrolment may not be used twice.
    page.wait_for_timeout(1500)
    page.get_by_label("Code from your authenticator app").fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()

    expect(page).to_have_url(f"{live_server.url}/account/")
    assert UserSession.objects.live().filter(user=user).latest("created_at").amr == ["pwd", "otp", "mfa"]
    assert [m for m in console_messages if "Content Security Policy" in m or m.startswith("pageerror")] == []
    # Only the wrong code's answer failed (a missing stylesheet or script would show here too).
    assert failed_responses == [f"400 {live_server.url}/login/verify"]


def test_a_member_an_org_policy_covers_sets_up_at_sign_in(live_server, browser_page, console_messages):
    org = OrganizationFactory(slug="acme", name="Acme Corp", mfa_policy="everyone", mfa_grace_days=7,
                              mfa_required_since=timezone.now())
    MembershipFactory(org=org, role="member", user=UserFactory(email="carol@acme.test"))
    page = browser_page

    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill("carol@acme.test")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/login/enrol")
    expect(page.get_by_text("Acme Corp requires two-step verification")).to_be_visible()
    _shoot(page, "login-enrol")
    page.get_by_text("Can't scan it? Type the setup key instead").click()
    totp = pyotp.TOTP(page.locator("#totp-setup-key").inner_text().replace(" ", ""))
    page.get_by_label("Code from your authenticator app").fill(totp.now())
    page.get_by_role("button", name="Set up and continue").click()
    expect(page.get_by_role("heading", name="Two-step verification is on")).to_be_visible()
    _shoot(page, "login-enrolled")
    page.get_by_role("button", name="I have saved them, continue").click()

    expect(page).to_have_url(f"{live_server.url}/account/")
    assert [m for m in console_messages if "Content Security Policy" in m or m.startswith("pageerror")] == []
