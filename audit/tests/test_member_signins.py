"""A member's sign-ins, wherever they started, are in the audit log of each org the account is an active member
of — and of no other org; unknown addresses belong to no org; every chain still verifies."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from applications.services import application_create
from audit.models import AuditEvent
from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory
from identity.models import UserSession

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"
UNKNOWN = "nobody@example.test"
AUTHORIZE = "/oauth/authorize?client_id=acme-web&response_type=code&scope=openid&redirect_uri=https://rp.example/cb"


def login(email: str, password: str = DEFAULT_PASSWORD, client: Client | None = None, next_url: str = ""):
    return (client or Client()).post("/login", {"email": email, "password": password, "next": next_url})


def audit_page(admin_client: Client, slug: str, **filters) -> str:
    response = admin_client.get(reverse("console:audit-list", kwargs={"org_slug": slug}), filters)
    assert response.status_code == 200
    return response.content.decode()


def org_rows(action: str) -> list[tuple[str, str]]:
    """(org slug, target label) of every event of `action`, in org order; "" for the platform."""
    events = AuditEvent.objects.filter(action=action).select_related("org").order_by("org__slug")
    return [(event.org.slug if event.org else "", event.target_label) for event in events]


@pytest.fixture
def initech(db):
    return OrganizationFactory(slug="initech", name="Initech")


@pytest.fixture
def both(org, other_org):
    """A member of acme and globex."""
    person = UserFactory(email="both@example.test")
    MembershipFactory(org=org, user=person)
    MembershipFactory(org=other_org, user=person)
    return person


def test_a_member_of_two_orgs_signing_in_is_in_both_audit_logs_and_in_no_third(
        org, other_org, initech, both, sign_in):
    assert login(both.email).status_code == 302

    sid = UserSession.objects.get(user=both).sid
    copies = AuditEvent.objects.filter(action="login.member_succeeded").order_by("org__slug")
    assert [(event.org.slug, event.actor_id, event.target_label, event.metadata["sid"]) for event in copies] == [
        ("acme", both.pk, str(both), sid), ("globex", both.pk, str(both), sid)]
    original = AuditEvent.objects.get(action="login.succeeded")
    assert original.org is None  # the platform's log keeps the one original
    assert {event.created_at for event in copies} == {original.created_at}

    for slug, admin_email in (("acme", "admin@acme.test"), ("globex", "admin@globex.test"),
                              ("initech", "admin@initech.test")):
        organization = {"acme": org, "globex": other_org, "initech": initech}[slug]
        admin = MembershipFactory(org=organization, role="admin", user=UserFactory(email=admin_email)).user
        page = audit_page(sign_in(admin, Client()), slug, action="login.")
        assert ("both@example.test" in page) is (slug != "initech"), slug
    assert not AuditEvent.objects.filter(org=initech).filter(action__startswith="login.").exists()
    call_command("audit_verify")  # each org's chain and the platform's still hold (raises at a broken one)


def test_the_org_export_holds_the_members_sign_in(org, both, sign_in):
    assert login(both.email).status_code == 302
    admin = MembershipFactory(org=org, role="admin", user=UserFactory(email="admin@acme.test")).user

    response = sign_in(admin, Client()).get(reverse("console:audit-export", kwargs={"org_slug": "acme"}),
                                            {"format": "jsonl", "action": "login."})

    assert response.status_code == 200
    records = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert [(r["org"], r["action"], r["actor"]) for r in records] == [("acme", "login.member_succeeded", both.email)]


def test_a_suspended_membership_or_a_suspended_org_gets_no_row(org, other_org, initech):
    person = UserFactory(email="erin@example.test")
    MembershipFactory(org=org, user=person)
    MembershipFactory(org=other_org, user=person, status="suspended")
    initech.status = "suspended"
    initech.save()
    MembershipFactory(org=initech, user=person)

    assert login(person.email).status_code == 302
    assert login(person.email, WRONG).status_code == 200

    assert org_rows("login.member_succeeded") == [("acme", str(person))]
    assert org_rows("login.member_failed") == [("acme", str(person))]
    call_command("audit_verify")


def test_a_wrong_password_is_in_each_of_the_members_orgs(org, other_org, initech, both):
    assert login(both.email, WRONG).status_code == 200

    assert org_rows("login.failed") == [("", str(both))]
    assert org_rows("login.member_failed") == [("acme", str(both)), ("globex", str(both))]
    failed = AuditEvent.objects.filter(action="login.member_failed").first()
    assert (failed.actor_id, failed.metadata["email"], failed.metadata["reason"]) == (None, both.email, "invalid")
    call_command("audit_verify")


def test_an_unknown_address_belongs_to_no_org(org, other_org, both):
    assert login(UNKNOWN, WRONG).status_code == 200

    assert org_rows("login.failed") == [("", "")]
    assert not AuditEvent.objects.filter(org__isnull=False).exists()


def test_a_locked_account_counts_for_its_orgs_even_before_the_password_is_checked(org, both, settings):
    for _ in range(12):
        last = login(both.email, WRONG)

    assert last.status_code == 429
    locked = AuditEvent.objects.filter(action="login.member_failed", metadata__reason="locked")
    assert locked.exists()
    assert {event.org.slug for event in locked} == {"acme", "globex"}
    assert {event.target_label for event in locked} == {str(both)}


def test_an_apps_org_learns_nothing_about_an_account_that_is_not_its_member(org, other_org):
    application_create(org=org, name="Acme Web", kind="web", redirect_uris=["https://rp.example/cb"],
                       client_id="acme-web")
    outsider = MembershipFactory(org=other_org, user=UserFactory(email="gina@globex.test")).user
    results = {}
    for email in (outsider.email, UNKNOWN):
        client = Client()
        login_url = client.get(AUTHORIZE)["Location"]
        next_url = parse_qs(urlsplit(login_url).query)["next"][0]
        assert login(email, WRONG, client=client, next_url=next_url).status_code == 200
        row = AuditEvent.objects.filter(org=org, action="login.failed").latest("pk")
        results[email] = (row.target_type, row.target_id, row.target_label, row.metadata["reason"])

    # The same row for an account elsewhere as for no account at all.
    assert results[outsider.email] == results[UNKNOWN] == ("", "", "", "invalid")
    # The account's own org still sees its failed sign-in.
    assert org_rows("login.member_failed") == [("globex", str(outsider))]
