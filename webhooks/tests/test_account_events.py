"""Events about an account that belong to no one org (an operator disabling it, a lockout at a plain /login, a
password changed by its owner) reach each org where the account is an active member: a copy of the audit
event in that org's log (audit/fanout.py), and so a delivery to each of its endpoints that asked for it. An
org where the account is only invited, or suspended, or not a member at all, hears nothing."""

import pytest
from django.test import Client

from api.tests.conftest import ApiClient, new_key
from audit.models import AuditEvent
from directory.email_change_services import email_change_confirm
from directory.services import password_change, user_disable, user_enable
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory
from identity.mfa.admin_services import user_mfa_reset
from identity.mfa.tests.support import enrol_totp
from identity.models import OneTimeToken
from identity.tokens import EMAIL_CHANGE_LIFETIME, token_issue
from orgs.models import Membership
from security.services import account_unlock, signin_attempt_begin, signin_attempt_failed
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_endpoint_create

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("allow_private")]

ACCOUNT_EVENTS = ["account.locked", "account.unlocked", "email.changed", "mfa.reset", "password.changed",
                  "user.disabled", "user.enabled"]
NEW_PASSWORD = "a-quite-different-passphrase-42"


@pytest.fixture
def world():
    """Alice is an active member of north and south, invited to invited-co, suspended in suspended-co; east
    has nothing to do with her. Each org has one endpoint subscribed to the account events."""
    alice = UserFactory(email="alice@example.test")
    orgs = {slug: OrganizationFactory(slug=slug) for slug in ("north", "south", "east", "invited-co", "suspended-co")}
    MembershipFactory(org=orgs["north"], user=alice)
    MembershipFactory(org=orgs["south"], user=alice, role=Membership.Role.ADMIN)
    MembershipFactory(org=orgs["invited-co"], user=alice, status=Membership.Status.INVITED)
    MembershipFactory(org=orgs["suspended-co"], user=alice, status=Membership.Status.SUSPENDED)
    MembershipFactory(org=orgs["east"], user=UserFactory(email="bob@example.test"))
    for org in orgs.values():
        webhook_endpoint_create(org=org, url=f"http://127.0.0.1:9/{org.slug}", events=ACCOUNT_EVENTS, actor=None)
    return alice, orgs


def deliveries(event_type: str) -> dict[str, dict]:
    """The outbox rows of `event_type`, by the slug of the org whose endpoint gets them: their payloads."""
    rows = WebhookDelivery.objects.filter(event_type=event_type).select_related("endpoint__org")
    slugs = [row.endpoint.org.slug for row in rows]
    assert len(slugs) == len(set(slugs)), f"an org got {event_type} twice: {slugs}"
    return {row.endpoint.org.slug: row.payload for row in rows}


def test_an_operator_disabling_an_account_reaches_each_org_it_is_an_active_member_of(world):
    alice, orgs = world
    operator = UserFactory(email="operator@example.test", is_superuser=True)

    user_disable(user=alice, actor=operator, reason="left the company")

    sent = deliveries("user.disabled")
    assert sorted(sent) == ["north", "south"]
    for slug, payload in sent.items():
        assert payload["type"] == "user.disabled"
        assert payload["data"]["org"] == {"id": orgs[slug].pk, "slug": slug}
        assert payload["data"]["target"]["label"] == "alice@example.test"
        assert payload["data"]["actor"] == {"email": "operator@example.test"}
        assert payload["data"]["metadata"]["reason"] == "left the company"
    # The platform's log keeps the original; each org's log has its own copy, chained there.
    events = AuditEvent.objects.filter(action="user.disabled")
    assert sorted((event.org.slug if event.org else None) or "platform" for event in events) == \
        ["north", "platform", "south"]

    user_enable(user=alice, actor=operator)
    assert sorted(deliveries("user.enabled")) == ["north", "south"]


def test_a_lockout_at_the_plain_login_page_reaches_the_account_s_orgs(world, settings):
    alice, _ = world
    settings.GATEHOUSE_LOCKOUT_THRESHOLD = 3
    client = Client()
    for _ in range(3):
        response = client.post("/login", {"email": alice.email, "password": "not-the-password"})
    assert response.status_code == 429
    assert "Too many failed sign-in attempts for this email address" in response.content.decode()

    sent = deliveries("account.locked")
    assert sorted(sent) == ["north", "south"]
    assert {payload["data"]["metadata"]["level"] for payload in sent.values()} == {1}

    account_unlock(user=alice, actor=UserFactory(is_superuser=True))
    assert sorted(deliveries("account.unlocked")) == ["north", "south"]


def test_a_lockout_of_an_unknown_address_reaches_no_org(world, settings):
    settings.GATEHOUSE_LOCKOUT_THRESHOLD = 3
    client = Client()
    for _ in range(3):
        response = client.post("/login", {"email": "nobody@example.test", "password": "not-the-password"})
    assert response.status_code == 429
    assert "Too many failed sign-in attempts for this email address" in response.content.decode()

    assert AuditEvent.objects.filter(action="account.locked", org__isnull=True).count() == 1
    assert AuditEvent.objects.filter(action="account.locked", org__isnull=False).count() == 0
    assert deliveries("account.locked") == {}


def test_a_password_the_owner_changes_reaches_each_of_their_orgs(world):
    alice, _ = world

    password_change(user=alice, current_password=DEFAULT_PASSWORD, new_password=NEW_PASSWORD)

    sent = deliveries("password.changed")
    assert sorted(sent) == ["north", "south"]
    assert all(payload["data"]["actor"] == {"email": "alice@example.test"} for payload in sent.values())


def test_an_operator_s_mfa_reset_reaches_each_of_the_account_s_orgs(world):
    alice, _ = world
    enrol_totp(alice, name="Phone")

    user_mfa_reset(user=alice, actor=UserFactory(is_superuser=True))

    sent = deliveries("mfa.reset")
    assert sorted(sent) == ["north", "south"]
    assert all(payload["data"]["metadata"]["authenticator_apps"] == 1 for payload in sent.values())


def test_an_email_address_the_owner_changes_reaches_each_of_their_orgs(world):
    alice, _ = world
    _token, raw = token_issue(purpose=OneTimeToken.Purpose.EMAIL_CHANGE, user=alice, lifetime=EMAIL_CHANGE_LIFETIME,
                              email="alice@new.example.test")

    email_change_confirm(raw_token=raw, user=alice)

    sent = deliveries("email.changed")
    assert sorted(sent) == ["north", "south"]
    assert {payload["data"]["metadata"]["after"] for payload in sent.values()} == {"alice@new.example.test"}


def test_an_unlock_through_the_api_still_names_the_key_that_did_it(org, org_admin, org_member, settings):
    """The event goes through audit/fanout.py now; like audit_record, it names the API key that acted."""
    settings.GATEHOUSE_LOCKOUT_THRESHOLD = 3
    for _ in range(3):
        signin_attempt_begin(email=org_member.email)
        signin_attempt_failed(email=org_member.email, user=org_member)
    api = ApiClient(new_key(org, org_admin, {"members.view", "members.manage"}, name="helpdesk bot"))

    response = api.post(f"/api/v1/orgs/{org.slug}/users/{org_member.pk}/unlock")

    assert response.status_code == 200, response.content
    assert response.json()["changed"] is True
    event = AuditEvent.objects.get(action="account.unlocked")
    assert event.org == org
    assert event.metadata["api_credential"]["name"] == "helpdesk bot"
    assert event.metadata["was_locked"] is True
