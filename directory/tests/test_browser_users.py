"""Users in a real browser: invite one through the console form, and import a small CSV."""

import re

import pytest
from playwright.sync_api import expect

from directory.import_services import user_import_apply
from directory.models import UserImport
from directory.tasks import apply_user_import
from directory.tests.factories import (
    GroupFactory,
)
from orgs.models import Membership

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SMALL_CSV = (
    b"email,name,role,groups\n"
    b"ada@example.test,Ada Lovelace,member,engineering\n"
    b"grace@example.test,Grace Hopper,auditor,\n"
)


def no_page_errors(console_messages, failed_responses):
    assert not [m for m in console_messages if "Content Security Policy" in m]
    assert not [m for m in console_messages if m.startswith("pageerror")]
    assert failed_responses == []


def test_an_admin_invites_a_user_and_sees_the_invitation_in_the_outbox(
        live_server, browser_page, browser_acme_admin, console_messages, failed_responses):
    page = browser_page

    page.goto(f"{live_server.url}/console/acme/users/new")
    page.get_by_label("Email").fill("dana@example.test")
    page.get_by_label("Full name").fill("Dana Scully")
    page.get_by_label("Role").select_option("member")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invited dana@example.test: the invitation is on its way.")).to_be_visible()

    page.goto(f"{live_server.url}/console/acme/emails/")
    row = page.get_by_role("row").filter(has_text="dana@example.test")
    expect(row).to_have_count(1)
    expect(row.get_by_role("link", name="You are invited to join Acme Corp")).to_be_visible()
    expect(row.get_by_role("cell", name="invitation")).to_be_visible()
    no_page_errors(console_messages, failed_responses)


def test_an_admin_imports_a_small_csv_through_preview_and_confirm(
        live_server, browser_page, browser_acme_admin, console_messages, failed_responses, monkeypatch):
    page = browser_page
    org = browser_acme_admin
    GroupFactory(org=org, name="Engineering", slug="engineering")
    # Hold the job back when the confirmation commits, so the page shows it running and then, by
    # polling, reach done once the job runs here.
    monkeypatch.setattr(apply_user_import, "delay", lambda *args, **kwargs: None)

    page.goto(f"{live_server.url}/console/acme/imports/new")
    expect(page.get_by_role("heading", name="Import users")).to_be_visible()
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": SMALL_CSV}])
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", name="Import of people.csv")).to_be_visible()
    preview = page.get_by_role("table").filter(has_text="Preview")
    expect(preview.get_by_role("row").filter(has_text="ada@example.test")).to_contain_text("Create")
    expect(preview.get_by_role("row").filter(has_text="grace@example.test")).to_contain_text("Create")
    page.get_by_role("button", name="Confirm and import 2 rows").click()

    expect(page.get_by_text("Import confirmed: 2 rows are being applied.")).to_be_visible()
    progress = page.locator("progress")
    expect(progress).to_have_attribute("value", "0")
    expect(page.get_by_text("This page updates by itself.")).to_be_visible()

    user_import_apply(import_id=UserImport.objects.get().pk)
    expect(page.get_by_text("2 of 2 rows applied")).to_be_visible(timeout=10_000)
    expect(progress).to_have_attribute("value", "2")
    expect(page.get_by_role("button", name="Download the results (CSV)")).to_be_visible()

    page.get_by_role("button", name="Go to users").click()
    expect(page).to_have_url(re.compile(r"/console/acme/users/$"))
    # Invited, not yet active: the list shows the address and role this org entered, never an account's name
    # (which could come from another organization).
    ada = page.get_by_role("row").filter(has_text="ada@example.test")
    expect(ada).to_contain_text("Member")
    expect(ada).to_contain_text("Invited")
    expect(ada).not_to_contain_text("Ada Lovelace")
    expect(page.get_by_role("row").filter(has_text="grace@example.test")).to_contain_text("Auditor")
    assert Membership.objects.get(org=org, user__email="ada@example.test").status == Membership.Status.INVITED
    no_page_errors(console_messages, failed_responses)
