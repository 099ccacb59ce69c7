"""Suspending an organization asks first: the page names what stops and for how many people, and only the
confirmed POST suspends it and writes the audit row (issue #13)."""

import re
from html import unescape

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from applications.tests.token_factories import issue_tokens, web_app
from audit.models import AuditEvent
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory
from identity.tests.step_up_support import sign_in_age
from orgs.models import Organization

pytestmark = pytest.mark.django_db


def suspend_url(slug="acme"):
    return reverse("console:platform-org-suspend", kwargs={"slug": slug})


@pytest.fixture
def busy_org(org, org_owner):
    """Acme with two active members, one invited, one app and one live sign-in (access + refresh token)."""
    MembershipFactory(org=org, role="member", user=UserFactory(email="bob@acme.test"))
    MembershipFactory(org=org, role="member", status="invited", user=UserFactory(email="new@acme.test"))
    issue_tokens(application=web_app(org, "HR portal"), user=org_owner)
    return org


def _page(response) -> str:
    return unescape(response.content.decode())


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_first_request_shows_what_suspending_does_and_changes_nothing(operator_client, busy_org, method):
    response = getattr(operator_client, method)(suspend_url())

    assert response.status_code == 200
    page = _page(response)
    assert "Suspend the organization Acme Corp?" in page
    assert "Its 2 active members can no longer sign in to its applications or use its console." in page
    assert "2 live tokens issued by its applications are revoked; reactivating restores none." in page
    assert "back-channel logout" in page
    assert 'name="confirmed" value="1"' in page
    assert '<button type="submit" class="danger">Suspend Acme Corp</button>' in page
    assert f'href="{reverse("console:platform-orgs")}"' in page  # Cancel goes back to the list
    busy_org.refresh_from_db()
    assert busy_org.status == Organization.Status.ACTIVE
    assert not AuditEvent.objects.filter(action="organization.suspended").exists()


def test_the_confirmed_post_suspends_with_the_reason_and_audits(operator_client, operator, busy_org):
    response = operator_client.post(suspend_url(), {"confirmed": "1", "reason": "unpaid invoice"})

    assert response.status_code == 302
    assert response["Location"] == reverse("console:platform-orgs")
    busy_org.refresh_from_db()
    assert busy_org.status == Organization.Status.SUSPENDED
    event = AuditEvent.objects.get(action="organization.suspended")
    assert (event.actor, event.org) == (operator, busy_org)
    assert event.metadata == {"before": "active", "after": "suspended", "reason": "unpaid invoice",
                              "tokens_revoked": 3}
    assert "Suspended Acme Corp." in _page(operator_client.get(response["Location"]))


def test_a_reason_sent_with_the_first_click_is_kept_on_the_page(operator_client, org):
    raw = operator_client.post(suspend_url(), {"reason": "unpaid <invoice>"}).content.decode()
    assert 'value="unpaid &lt;invoice&gt;"' in raw  # prefilled, and escaped


def test_an_overlong_reason_comes_back_beside_the_field_with_the_input_kept(operator_client, org):
    response = operator_client.post(suspend_url(), {"confirmed": "1", "reason": "x" * 501})

    assert response.status_code == 200
    page = _page(response)
    assert "Suspend the organization Acme Corp?" in page
    assert 'class="field-error"' in page
    assert "at most 500 characters" in page
    assert "x" * 501 in page
    org.refresh_from_db()
    assert org.status == Organization.Status.ACTIVE
    assert not AuditEvent.objects.filter(action="organization.suspended").exists()


def test_an_unknown_org_is_404_on_both_steps(operator_client):
    assert operator_client.get(suspend_url("nope")).status_code == 404
    assert operator_client.post(suspend_url("nope"), {"confirmed": "1"}).status_code == 404


@pytest.mark.parametrize("data", [{}, {"confirmed": "1"}])
def test_an_org_admin_gets_404_on_both_steps(client, sign_in, org, org_owner, data):
    sign_in(org_owner)
    assert client.get(suspend_url()).status_code == 404
    assert client.post(suspend_url(), data).status_code == 404
    org.refresh_from_db()
    assert org.status == Organization.Status.ACTIVE


def test_reactivating_takes_nothing_away_and_acts_at_once(operator_client, org):
    org.status = Organization.Status.SUSPENDED
    org.save()
    reactivate = reverse("console:platform-org-reactivate", kwargs={"slug": "acme"})

    assert operator_client.get(reactivate).status_code == 405
    assert operator_client.post(reactivate).status_code == 302
    org.refresh_from_db()
    assert org.status == Organization.Status.ACTIVE


def test_after_a_step_up_reactivating_goes_back_to_the_list_it_was_clicked_on(client, sign_in, org, operator):
    org.status = Organization.Status.SUSPENDED
    org.save()
    sign_in(operator)
    sign_in_age(client, 11)
    reactivate = reverse("console:platform-org-reactivate", kwargs={"slug": "acme"})
    listing = reverse("console:platform-orgs")
    assert client.post(reactivate, HTTP_REFERER=f"http://testserver{listing}")["Location"] == "/account/confirm"
    confirmed = client.post("/account/confirm", {"method": "password", "password": DEFAULT_PASSWORD})
    assert confirmed["Location"] == f"http://testserver{listing}"


def test_an_org_already_suspended_is_said_so_and_has_no_button(operator_client, org):
    org.status = Organization.Status.SUSPENDED
    org.save()
    page = _page(operator_client.get(suspend_url()))
    assert "Acme Corp is already suspended." in page
    assert 'name="confirmed"' not in page


# ---------------------------------------------------------------------- no destructive action without a page

DESTRUCTIVE = re.compile(r"(suspend|disable|deactivate|remove|delete|revoke|rotate|overlap-end|sessions-end|mfa-reset|"
                         r"purge|retention|cancel)$")
# Console actions whose name sounds destructive but that take nothing away a person relies on.
NOT_ASKED = {
    "import-cancel": "drops a CSV preview that was never applied",
    "email-cancel": "stops one message still waiting; its page's form takes a reason, and the invitation or reset "
                    "can be sent again",
    "platform-email-cancel": "the same, on the platform's queue",
}


def _console_patterns(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _console_patterns(pattern.url_patterns, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern) and namespace == "console":
            yield pattern


def test_every_destructive_console_action_asks_on_a_page_first():
    """Either the shared confirmation (`@confirm_first`) or a page of its own that a GET shows (the dedicated
    pages: remove, delete, rotate, revoke, reset); never a bare one-click POST."""
    checked = []
    for pattern in _console_patterns(get_resolver().url_patterns):
        if not pattern.name or not DESTRUCTIVE.search(pattern.name) or pattern.name in NOT_ASKED:
            continue
        view = pattern.callback.view_class
        asks = getattr(view, "confirms_first", False) or ("get" in view.http_method_names and hasattr(view, "get"))
        assert asks, f"{pattern.name} ({view.__name__}) acts on a POST without asking first"
        checked.append(pattern.name)
    assert {"platform-org-suspend", "user-suspend", "group-member-remove", "app-disable", "app-role-delete",
            "apikey-deactivate", "webhook-disable", "audit-retention"} <= set(checked)
