"""Step-up in a real browser: an admin whose sign-in is 11 minutes old opens a group's delete page, confirms
it's them (with the password; with a passkey on Chromium's virtual authenticator), is brought back to the
delete page and deletes it. No CSP violation, no failed request."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from audit.models import AuditEvent
from conftest import browser_sign_in
from directory.models import Group
from directory.tests.factories import (
    DEFAULT_PASSWORD,
    GroupFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)
from identity.models import UserSession
from identity.passkeys.tests.test_browser_passkeys import add_virtual_authenticator, register_in_browser

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def live_issuer(live_server, settings):
    settings.GATEHOUSE_ISSUER = live_server.url
    return live_server.url


@pytest.fixture
def acme(live_issuer):
    org = OrganizationFactory(slug="acme", name="Acme Corp")
    admin = MembershipFactory(org=org, role="admin", user=UserFactory(email="admin@acme.test", full_name="Ada")).user
    group = GroupFactory(org=org, name="Engineering", slug="engineering")
    return org, admin, group


def _age_sign_in(user, minutes: int = 11) -> None:
    UserSession.objects.filter(user=user).update(auth_time=timezone.now() - timedelta(minutes=minutes))


def _open_delete_page(page, base: str, group) -> None:
    """The group's delete confirmation: with an old sign-in, the step-up page comes first."""
    page.goto(f"{base}/console/acme/groups/{group.pk}/delete")


def _no_errors(console_messages: list[str], failed_responses: list[str]) -> None:
    assert not [m for m in console_messages if "Content Security Policy" in m or m.startswith("pageerror")]
    assert failed_responses == []


def test_confirm_with_the_password_then_delete(live_server, live_issuer, acme, browser_page, console_messages,
                                               failed_responses):
    org, admin, group = acme
    page = browser_page
    browser_sign_in(page, live_server, email="admin@acme.test", password=DEFAULT_PASSWORD, lands_on="/console/acme/")
    _age_sign_in(admin)

    _open_delete_page(page, live_issuer, group)

    expect(page).to_have_url(f"{live_issuer}/account/confirm")
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    expect(page.get_by_text("To delete the group, confirm it's you (admin@acme.test).")).to_be_visible()
    assert Group.objects.filter(pk=group.pk).exists()
    page.get_by_label("Your password").fill("not-my-password")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("That password is not right.")).to_be_visible()
    page.get_by_label("Your password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(f"{live_issuer}/console/acme/groups/{group.pk}/delete")
    expect(page.get_by_text("Confirmed — you can now delete the group.")).to_be_visible()
    page.get_by_role("button", name=re.compile("^Delete")).click()
    expect(page).to_have_url(f"{live_issuer}/console/acme/groups/")
    assert not Group.objects.filter(pk=group.pk).exists()
    assert AuditEvent.objects.filter(action="step_up.failed", org=org).count() == 1
    assert AuditEvent.objects.filter(action="step_up.succeeded", org=org).count() == 1
    # The 400 of the wrong password is the only failed response.
    assert [r for r in failed_responses if not r.startswith("400 ")] == []
    _no_errors(console_messages, [])


def test_confirm_with_a_passkey(live_server, live_issuer, acme, browser_page, console_messages, failed_responses):
    org, admin, group = acme
    page = browser_page
    add_virtual_authenticator(page)
    browser_sign_in(page, live_server, email="admin@acme.test", password=DEFAULT_PASSWORD, lands_on="/console/acme/")
    register_in_browser(page, live_issuer, "Laptop")
    _age_sign_in(admin)

    _open_delete_page(page, live_issuer, group)

    expect(page).to_have_url(f"{live_issuer}/account/confirm")
    expect(page.get_by_label("Your password")).to_have_count(0)
    page.get_by_role("button", name="Use a passkey").click()

    expect(page).to_have_url(f"{live_issuer}/console/acme/groups/{group.pk}/delete")
    expect(page.get_by_text("Confirmed — you can now delete the group.")).to_be_visible()
    page.get_by_role("button", name=re.compile("^Delete")).click()
    expect(page).to_have_url(f"{live_issuer}/console/acme/groups/")
    assert not Group.objects.filter(pk=group.pk).exists()
    assert AuditEvent.objects.get(action="step_up.succeeded").metadata["method"] == "passkey"
    _no_errors(console_messages, failed_responses)
