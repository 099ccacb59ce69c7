"""An org's own lockout threshold: it applies to sign-ins started from its applications, for known and
unknown emails alike, and a plain /login keeps the platform's."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client, override_settings

from applications.services import application_create
from audit.models import AuditEvent
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory
from orgs.models import Organization
from orgs.settings_services import organization_settings_update
from security.services import lockout_threshold, signin_attempt_begin

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("counter_backend")]

AUTHORIZE = "/oauth/authorize?client_id=acme-web&response_type=code&scope=openid&redirect_uri=https://rp.example/cb"
LOCKED = "Too many failed sign-in attempts for this email address"
WRONG = "not-the-password"
UNKNOWN = "nobody@example.test"


@pytest.fixture
def acme_app(org):
    return application_create(org=org, name="Acme Web", kind="web", redirect_uris=["https://rp.example/cb"],
                              client_id="acme-web").application


@pytest.fixture
def user(org):
    return MembershipFactory(org=org, role="member").user


def _from_app(client) -> str:
    """Start at the app's /authorize, land on the sign-in page; returns the `next` it carries."""
    login_url = client.get(AUTHORIZE)["Location"]
    assert client.get(login_url).status_code == 200
    return parse_qs(urlsplit(login_url).query)["next"][0]


def _fail(client, email, times, next_url=""):
    return [client.post("/login", {"email": email, "password": WRONG, "next": next_url}) for _ in range(times)]


@pytest.mark.parametrize("known", [True, False])
def test_an_org_threshold_of_3_locks_after_3_failures_from_its_app(client, org, acme_app, user, known):
    organization_settings_update(org=org, actor=None, lockout_threshold=3)
    email = user.email if known else UNKNOWN
    next_url = _from_app(client)

    first, second, third = _fail(client, email, 3, next_url)

    assert [first.status_code, second.status_code] == [200, 200]
    assert third.status_code == 429
    assert LOCKED in third.content.decode()
    event = AuditEvent.objects.get(action="account.locked")
    assert event.metadata["threshold"] == 3
    assert event.metadata["email"] == email
    # Locked now, even with the right password.
    right = client.post("/login", {"email": email, "password": DEFAULT_PASSWORD, "next": next_url})
    assert right.status_code == 429


def test_a_plain_login_keeps_the_platform_threshold(client, org, acme_app, user):
    organization_settings_update(org=org, actor=None, lockout_threshold=3)

    responses = _fail(client, user.email, 3)

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert not AuditEvent.objects.filter(action="account.locked").exists()
    assert lockout_threshold() == 10


def test_a_plain_login_after_an_app_started_one_uses_the_platform_threshold(client, org, acme_app, user):
    organization_settings_update(org=org, actor=None, lockout_threshold=3)
    _from_app(client)
    client.get("/login")

    assert [r.status_code for r in _fail(client, user.email, 3)] == [200, 200, 200]


def test_the_answer_is_the_same_for_known_and_unknown_emails(org, acme_app, user):
    from django.test import Client

    organization_settings_update(org=org, actor=None, lockout_threshold=3)
    pages = []
    for email in (user.email, UNKNOWN):
        client = Client()
        pages.append([r.status_code for r in _fail(client, email, 4, _from_app(client))])
    assert pages[0] == pages[1] == [200, 200, 429, 429]


@override_settings(GATEHOUSE_LOCKOUT_THRESHOLD=3)
def test_an_org_cannot_loosen_the_platform_threshold(client, org, acme_app, user):
    """The client picks the org by its client_id: a looser org would give an attacker more guesses."""
    organization_settings_update(org=org, actor=None, lockout_threshold=5)
    next_url = _from_app(client)

    responses = _fail(client, user.email, 4, next_url)

    assert [r.status_code for r in responses] == [200, 200, 429, 429]


def test_no_org_threshold_means_the_platform_one_from_its_app(client, org, acme_app, user):
    next_url = _from_app(client)
    assert [r.status_code for r in _fail(client, user.email, 3, next_url)] == [200, 200, 200]


def test_a_suspended_orgs_threshold_no_longer_applies(client, org, acme_app, user):
    organization_settings_update(org=org, actor=None, lockout_threshold=3)
    next_url = _from_app(client)
    Organization.objects.filter(pk=org.pk).update(status=Organization.Status.SUSPENDED)

    assert [r.status_code for r in _fail(client, UNKNOWN, 3, next_url)] == [200, 200, 200]


def test_the_threshold_in_force_is_the_stricter_one(db):
    assert lockout_threshold() == 10
    assert lockout_threshold(4) == 4
    assert lockout_threshold(30) == 10


def test_begin_refuses_at_the_given_threshold(db):
    decisions = [signin_attempt_begin(email=UNKNOWN, threshold=3).locked for _ in range(4)]
    assert decisions == [False, False, False, True]


def test_a_failure_from_an_orgs_app_is_in_that_orgs_audit_log_and_dashboard(client, org, other_org, acme_app, user):
    from orgs.dashboard import org_dashboard

    _fail(client, UNKNOWN, 1, _from_app(client))
    _fail(Client(), user.email, 1)  # a plain /login: the platform's original, and a copy in the member's org

    failed = AuditEvent.objects.filter(action="login.failed")
    assert [(event.org_id, event.metadata["email"]) for event in failed.order_by("id")] == [
        (org.pk, UNKNOWN), (None, user.email)]
    copies = AuditEvent.objects.filter(action="login.member_failed")
    assert [(event.org_id, event.metadata["email"]) for event in copies] == [(org.pk, user.email)]
    assert org_dashboard(org=org).activity.total_failed_sign_ins == 2  # issue #13: its member's counts too
    assert org_dashboard(org=other_org).activity.total_failed_sign_ins == 0
