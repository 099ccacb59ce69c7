"""Passkeys in a real browser: the system Chromium with its virtual authenticator (the CDP WebAuthn domain)
against the live server, whose issuer is http://localhost:<port> (browsers refuse WebAuthn on an IP)."""

import re

import pytest
from playwright.sync_api import expect

from conftest import browser_sign_in
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory
from identity.models import UserSession
from identity.passkeys.models import Passkey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live_issuer(live_server, settings):
    settings.GATEHOUSE_ISSUER = live_server.url
    assert live_server.url.startswith("http://localhost:")
    return live_server.url


@pytest.fixture
def bob(live_issuer):
    org = OrganizationFactory(slug="acme", name="Acme Corp")
    return MembershipFactory(org=org, role="member", user=UserFactory(email="bob@acme.test", full_name="Bob")).user


def add_virtual_authenticator(page, *, synced: bool = False) -> tuple:
    """A platform authenticator that holds passkeys and verifies the user (as Touch ID would)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True, "defaultBackupEligibility": synced,
        "defaultBackupState": synced,
    }})["authenticatorId"]
    return cdp, authenticator


# Chromium's virtual authenticator answers a conditional (autofill) request by itself, as if the person
# picked the passkey from the email field's suggestions. Tests of the button and of the password path
# use a browser that offers no autofill, as some still do.
NO_AUTOFILL = "PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);"


def register_in_browser(page, base: str, name: str) -> None:
    page.goto(f"{base}/account/security/")
    expect(page.get_by_role("heading", name="Passkeys")).to_be_visible()
    page.get_by_label("Name for the new passkey").fill(name)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_text(f"Passkey “{name}” added")).to_be_visible()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()


def passkey_item(page, name: str):
    return page.get_by_role("listitem").filter(has=page.get_by_role("heading", name=name, exact=True))


def sign_out(page, base: str) -> None:
    page.goto(f"{base}/logout")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/login"))


def _credentials_left(page, cdp, authenticator, wait_ms: int = 5000) -> list:
    """The virtual authenticator's credentials once the page's (asynchronous) Signal API call had time to land."""
    for _attempt in range(wait_ms // 250):
        credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
        if not credentials:
            return []
        page.wait_for_timeout(250)
    return credentials


def _no_errors(console_messages: list[str]) -> None:
    assert not [m for m in console_messages if "Content Security Policy" in m or m.startswith("pageerror")]


def test_register_sign_in_without_password_and_remove(live_server, live_issuer, bob, browser_page, console_messages,
                                                      failed_responses):
    page = browser_page
    page.add_init_script(NO_AUTOFILL)
    cdp, authenticator = add_virtual_authenticator(page)
    browser_sign_in(page, live_server, email="bob@acme.test", password=DEFAULT_PASSWORD, lands_on="/account/")

    register_in_browser(page, live_issuer, "Laptop")
    passkey = Passkey.objects.get(user=bob)
    assert (passkey.name, passkey.backup_eligible) == ("Laptop", False)
    assert "internal" in passkey.transports
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert [c["isResidentCredential"] for c in credentials] == [True]
    # The same authenticator again: excludeCredentials makes the browser refuse, and the page says why.
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_text("already holds a passkey for your account")).to_be_visible()
    assert Passkey.objects.filter(user=bob).count() == 1

    sign_out(page, live_issuer)
    expect(page.locator("#id_email")).to_have_attribute("autocomplete", "username webauthn")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page).to_have_url(f"{live_issuer}/account/")
    session = UserSession.objects.filter(user=bob, ended_at__isnull=True).get()
    assert session.amr == ["hwk", "mfa"]

    page.goto(f"{live_issuer}/account/security/")
    expect(passkey_item(page, "Laptop")).to_contain_text("Last used")
    expect(passkey_item(page, "Laptop")).not_to_contain_text("Never")
    page.get_by_text("Remove Laptop").click()
    passkey_item(page, "Laptop").get_by_label("Your password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Remove passkey Laptop").click()
    expect(page.get_by_text("Passkey “Laptop” removed")).to_be_visible()
    expect(page.get_by_role("heading", name="Laptop", exact=True)).to_have_count(0)
    assert not Passkey.objects.filter(user=bob).exists()
    # The page told the browser which passkeys the account still accepts (none): the authenticator drops it.
    assert _credentials_left(page, cdp, authenticator) == []
    _no_errors(console_messages)
    assert failed_responses == []


def test_a_passkey_as_the_second_factor_after_the_password(live_server, live_issuer, bob, browser_page,
                                                            console_messages):
    page = browser_page
    page.add_init_script(NO_AUTOFILL)
    add_virtual_authenticator(page, synced=True)
    browser_sign_in(page, live_server, email="bob@acme.test", password=DEFAULT_PASSWORD, lands_on="/account/")
    register_in_browser(page, live_issuer, "Phone")
    expect(passkey_item(page, "Phone")).to_contain_text("Yes, synced across your devices")
    sign_out(page, live_issuer)

    page.get_by_label("Email").fill("bob@acme.test")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    # Bob has a factor now: the sign-in asks for it, and the passkey answers.
    page.get_by_role("button", name="Use a passkey").click()
    expect(page).to_have_url(f"{live_issuer}/account/")
    session = UserSession.objects.filter(user=bob, ended_at__isnull=True).get()
    assert session.amr == ["pwd", "swk", "mfa"]
    _no_errors(console_messages)


def test_a_passkey_removed_elsewhere_is_refused_and_dropped_from_the_device(live_server, live_issuer, bob,
                                                                            browser_page, console_messages):
    page = browser_page
    page.add_init_script(NO_AUTOFILL)
    cdp, authenticator = add_virtual_authenticator(page)
    browser_sign_in(page, live_server, email="bob@acme.test", password=DEFAULT_PASSWORD, lands_on="/account/")
    register_in_browser(page, live_issuer, "Laptop")
    sign_out(page, live_issuer)
    Passkey.objects.filter(user=bob).delete()  # removed from another browser meanwhile

    page.get_by_role("button", name="Sign in with a passkey").click()

    expect(page.get_by_text("This passkey is not registered for this sign-in")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_issuer)}/login"))
    assert not UserSession.objects.filter(user=bob, ended_at__isnull=True).exists()
    # The browser was told (Signal API), so the device stops offering a passkey that cannot sign in.
    assert _credentials_left(page, cdp, authenticator) == []
    assert not [m for m in console_messages if "Content Security Policy" in m or m.startswith("pageerror")]


# A browser without the JSON helpers of WebAuthn Level 3: the page's own base64url code does the work.
NO_JSON_HELPERS = """
delete PublicKeyCredential.parseCreationOptionsFromJSON;
delete PublicKeyCredential.parseRequestOptionsFromJSON;
delete PublicKeyCredential.prototype.toJSON;
"""


def test_browsers_without_the_json_helpers_register_and_sign_in_too(live_server, live_issuer, bob, browser_page,
                                                                    console_messages):
    page = browser_page
    page.add_init_script(NO_AUTOFILL + NO_JSON_HELPERS)
    add_virtual_authenticator(page)
    browser_sign_in(page, live_server, email="bob@acme.test", password=DEFAULT_PASSWORD, lands_on="/account/")
    assert page.evaluate("typeof PublicKeyCredential.parseCreationOptionsFromJSON") == "undefined"

    register_in_browser(page, live_issuer, "Old browser")
    assert Passkey.objects.get(user=bob).transports  # getTransports() was read by hand
    sign_out(page, live_issuer)
    page.get_by_role("button", name="Sign in with a passkey").click()

    expect(page).to_have_url(f"{live_issuer}/account/")
    assert UserSession.objects.filter(user=bob, ended_at__isnull=True).get().amr == ["hwk", "mfa"]
    _no_errors(console_messages)


def test_the_email_fields_autofill_signs_in_with_a_passkey(live_server, live_issuer, bob, browser_page,
                                                          console_messages):
    page = browser_page
    add_virtual_authenticator(page)
    browser_sign_in(page, live_server, email="bob@acme.test", password=DEFAULT_PASSWORD, lands_on="/account/")
    register_in_browser(page, live_issuer, "Laptop")
    page.goto(f"{live_issuer}/logout")
    page.get_by_role("button", name="Sign out").click()

    # The sign-in page asks for a conditional request as it loads; the passkey picked from the email
    # field's autofill signs in without a password and without pressing anything else.
    expect(page).to_have_url(f"{live_issuer}/account/")
    assert UserSession.objects.filter(user=bob, ended_at__isnull=True).get().amr == ["hwk", "mfa"]
    assert Passkey.objects.get(user=bob).last_used_at is not None
    _no_errors(console_messages)


def test_on_an_ip_address_issuer_the_page_says_passkeys_need_a_host_name(live_server, bob, browser_page, settings,
                                                                       console_messages):
    settings.GATEHOUSE_ISSUER = live_server.url.replace("localhost", "127.0.0.1")
    page = browser_page
    browser_sign_in(page, live_server, email="bob@acme.test", password=DEFAULT_PASSWORD, lands_on="/account/")

    page.goto(f"{live_server.url}/account/security/")

    expect(page.get_by_text("Passkeys need Gatehouse to be served on a host name")).to_be_visible()
    expect(page.get_by_role("button", name="Add a passkey")).to_have_count(0)
    page.goto(f"{live_server.url}/login")
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_have_count(0)
    _no_errors(console_messages)
