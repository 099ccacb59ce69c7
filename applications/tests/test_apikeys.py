"""API keys in the console: who may do what, tenant isolation, the key shown once, services and audits."""

import hashlib
from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from applications.apikey_selectors import api_key_authenticate
from applications.apikey_services import api_key_create, api_key_revoke
from applications.models import ApiKey
from applications.services import application_create, application_disable
from audit.models import AuditEvent
from config.exceptions import DomainError, NotAllowed
from directory.tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def url(name, org, *args):
    return reverse(f"console:{name}", args=[org.slug, *args])


def make_key(org, actor, **kwargs):
    kwargs.setdefault("name", "HR sync")
    kwargs.setdefault("scopes", ["members.view"])
    return api_key_create(org=org, actor=actor, request=None, **kwargs)


@pytest.fixture
def key_and_raw(org, org_admin):
    return make_key(org, org_admin)


@pytest.fixture
def foreign_key(other_org, other_org_admin):
    return make_key(other_org, other_org_admin, name="Globex key")[0]


def create_post(client, org, **data):
    payload = {"name": "Payroll export", "scopes": ["members.view", "groups.view"], "expires_on": "",
               "allowed_ips": "", "application": ""}
    payload.update(data)
    return client.post(url("apikey-create", org), payload)


# ------------------------------------------------------------------------------------------ who may do what

@pytest.mark.parametrize("who", ["org_owner", "org_admin", "operator"])
def test_owner_admin_and_operator_open_every_page(request, sign_in, org, key_and_raw, who):
    client = sign_in(request.getfixturevalue(who))
    key = key_and_raw[0]
    for page in (url("apikey-list", org), url("apikey-create", org), url("apikey-revoke", org, key.pk)):
        assert client.get(page).status_code == 200, page
    listing = client.get(url("apikey-list", org)).content.decode()
    assert "Create API key" in listing
    assert 'aria-current="page">API keys' in listing


def test_auditor_reads_the_list_but_every_write_is_403(sign_in, org, org_auditor, key_and_raw):
    client = sign_in(org_auditor)
    key = key_and_raw[0]
    listing = client.get(url("apikey-list", org))
    assert listing.status_code == 200
    assert "HR sync" in listing.content.decode()
    assert "Create API key" not in listing.content.decode()
    assert url("apikey-revoke", org, key.pk) not in listing.content.decode()
    assert client.get(url("apikey-create", org)).status_code == 403
    assert client.get(url("apikey-revoke", org, key.pk)).status_code == 403
    assert create_post(client, org).status_code == 403
    assert client.post(url("apikey-revoke", org, key.pk)).status_code == 403
    key.refresh_from_db()
    assert key.revoked_at is None
    assert ApiKey.objects.count() == 1
    assert not AuditEvent.objects.filter(actor=org_auditor).exists()


def test_member_gets_403_everywhere(sign_in, org, org_member, key_and_raw):
    client = sign_in(org_member)
    key = key_and_raw[0]
    for page in (url("apikey-list", org), url("apikey-create", org), url("apikey-revoke", org, key.pk)):
        assert client.get(page).status_code == 403, page
    assert client.post(url("apikey-revoke", org, key.pk)).status_code == 403


def test_other_orgs_admin_gets_404_everywhere(other_org_admin_client, org, key_and_raw):
    key = key_and_raw[0]
    for page in (url("apikey-list", org), url("apikey-create", org), url("apikey-revoke", org, key.pk)):
        assert other_org_admin_client.get(page).status_code == 404, page
    assert create_post(other_org_admin_client, org).status_code == 404
    assert other_org_admin_client.post(url("apikey-revoke", org, key.pk)).status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_revoking_another_orgs_key_by_id_is_404(org_admin_client, org, foreign_key):
    assert org_admin_client.get(url("apikey-revoke", org, foreign_key.pk)).status_code == 404
    assert org_admin_client.post(url("apikey-revoke", org, foreign_key.pk)).status_code == 404
    foreign_key.refresh_from_db()
    assert foreign_key.revoked_at is None
    assert "Globex key" not in org_admin_client.get(url("apikey-list", org)).content.decode()


def test_sidebar_link_for_those_who_may_read(sign_in, org, org_auditor, org_member):
    link = f'href="{url("apikey-list", org)}"'
    assert link in sign_in(org_auditor).get(url("org-overview", org)).content.decode()
    member_page = sign_in(org_member).get(url("org-overview", org))
    assert link not in member_page.content.decode()


# ---------------------------------------------------------------------------------------- create, shown once

def test_create_shows_the_key_once_and_stores_only_its_hash(org_admin_client, org, org_admin):
    response = create_post(org_admin_client, org, expires_on=(timezone.localdate() + timedelta(days=30)).isoformat(),
                           allowed_ips="203.0.113.0/24\n2001:db8::/32\n198.51.100.7")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = ApiKey.objects.get()
    raw = response.context["raw_key"]
    page = response.content.decode()
    assert raw in page
    assert "shown only this once" in page
    assert 'data-copy-target="api-key"' in page
    assert "console/copy.js" in page
    assert raw.startswith(key.prefix + "_")
    assert key.prefix.startswith("ghk_")
    assert len(raw.rsplit("_", 1)[1]) == 64  # 32 random bytes, hex: 256 bits
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(ApiKey.objects.values().get())
    assert key.scopes == ["groups.view", "members.view"]
    assert key.allowed_ips == ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7/32"]
    # The end of the day picked (identity/tests/test_time_zone.py: in the viewer's zone).
    assert timezone.localtime(key.expires_at).date() == timezone.localdate() + timedelta(days=30)
    assert timezone.localtime(key.expires_at).time() == time.max
    assert key.created_by == org_admin
    # Never again: not on the list, not on the form, not on the revoke page, not in the audit log.
    for page_url in (url("apikey-list", org), url("apikey-create", org), url("apikey-revoke", org, key.pk)):
        again = org_admin_client.get(page_url).content.decode()
        assert raw not in again
        assert raw.rsplit("_", 1)[1] not in again
    assert key.prefix in org_admin_client.get(url("apikey-list", org)).content.decode()
    event = AuditEvent.objects.get(action="api_key.created")
    assert raw.rsplit("_", 1)[1] not in str(event.metadata)
    assert key.key_hash not in str(event.metadata)


def test_create_writes_the_audit_row(org_admin_client, org, org_admin):
    create_post(org_admin_client, org, allowed_ips="10.0.0.0/8")
    key = ApiKey.objects.get()
    event = AuditEvent.objects.get(action="api_key.created")
    assert event.actor == org_admin
    assert event.org == org
    assert event.target_type == "applications.apikey"
    assert event.target_id == str(key.pk)
    assert event.metadata == {"name": "Payroll export", "prefix": key.prefix, "scopes": ["groups.view", "members.view"],
                              "expires_at": None, "allowed_ips": ["10.0.0.0/8"], "application": None}


def test_form_offers_only_the_scopes_the_creator_holds(sign_in, org, org_admin, org_owner):
    admin_form = sign_in(org_admin).get(url("apikey-create", org)).content.decode()
    assert 'value="members.manage"' in admin_form
    assert 'value="owners.manage"' not in admin_form
    assert 'value="org.delete"' not in admin_form
    owner_form = sign_in(org_owner).get(url("apikey-create", org)).content.decode()
    assert 'value="owners.manage"' in owner_form


def test_posting_a_scope_above_the_creators_is_refused(org_admin_client, org):
    response = create_post(org_admin_client, org, scopes=["members.view", "owners.manage"])
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not ApiKey.objects.exists()
    assert not AuditEvent.objects.filter(action="api_key.created").exists()


@pytest.mark.parametrize(("data", "message"), [
    ({"allowed_ips": "10.0.0.5/24"},
     "has host bits set: write the network as 10.0.0.0/24 or the single address as 10.0.0.5"),
    ({"allowed_ips": "not-an-ip"}, "is not an IP address or CIDR network"),
    ({"allowed_ips": "10.0.0.0/33"}, "is not an IP address or CIDR network"),
    ({"allowed_ips": "2001:db8::1/32"}, "has host bits set"),
    ({"expires_on": "2000-01-01"}, "The expiry is in the past"),
    ({"expires_on": "tomorrow"}, "Enter a valid date"),
    ({"scopes": []}, "This field is required"),
    ({"scopes": ["nope.view"]}, "Select a valid choice"),
    ({"name": "   "}, "This field is required"),
    ({"application": "999999"}, "Select a valid choice"),
])
def test_bad_input_is_explained_and_changes_nothing(org_admin_client, org, data, message):
    response = create_post(org_admin_client, org, **data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ApiKey.objects.exists()
    assert not AuditEvent.objects.filter(action="api_key.created").exists()


def test_another_orgs_application_is_not_offered_nor_accepted(org_admin_client, org, other_org):
    foreign = application_create(org=other_org, name="Globex app", kind="machine").application
    own = application_create(org=org, name="Acme sync", kind="machine").application
    form = org_admin_client.get(url("apikey-create", org)).content.decode()
    assert "Acme sync" in form
    assert "Globex app" not in form
    assert "Select a valid choice" in create_post(org_admin_client, org, application=str(foreign.pk)).content.decode()
    assert not ApiKey.objects.exists()
    create_post(org_admin_client, org, application=str(own.pk))
    assert ApiKey.objects.get().application == own


# ------------------------------------------------------------------------------------------- the services

def test_service_refuses_scopes_the_actor_does_not_hold(org, org_admin, org_auditor):
    with pytest.raises(NotAllowed, match="You do not hold owners.manage"):
        make_key(org, org_admin, scopes=["owners.manage"])
    with pytest.raises(NotAllowed, match="members.manage"):
        make_key(org, org_auditor, scopes=["members.manage"])
    assert not ApiKey.objects.exists()


def test_service_refuses_an_actor_of_another_org(org, other_org_admin):
    with pytest.raises(NotAllowed):
        make_key(org, other_org_admin, scopes=["members.view"])


def test_service_refuses_unknown_scopes_empty_scopes_past_expiry_and_bad_cidrs(org, org_admin):
    with pytest.raises(DomainError, match="Unknown scope “members.delete”"):
        make_key(org, org_admin, scopes=["members.delete"])
    with pytest.raises(DomainError, match="at least one scope"):
        make_key(org, org_admin, scopes=[])
    with pytest.raises(DomainError, match="in the past"):
        make_key(org, org_admin, expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(DomainError, match="host bits set"):
        make_key(org, org_admin, allowed_ips=["192.168.1.1/16"])
    with pytest.raises(DomainError, match="not an IP address"):
        make_key(org, org_admin, allowed_ips=["192.168.1.300"])
    with pytest.raises(DomainError, match="needs a name"):
        make_key(org, org_admin, name=" ")
    assert not ApiKey.objects.exists()
    assert not AuditEvent.objects.filter(action="api_key.created").exists()


def test_service_refuses_another_orgs_application(org, org_admin, other_org):
    foreign = application_create(org=other_org, name="Globex app", kind="machine").application
    with pytest.raises(DomainError, match="Choose an application of Acme Corp"):
        make_key(org, org_admin, application=foreign)
    assert not ApiKey.objects.exists()


def test_operator_may_grant_every_scope(org, operator):
    key, _raw = make_key(org, operator, scopes=["owners.manage", "org.delete"])
    assert key.scopes == ["org.delete", "owners.manage"]


def test_prefixes_are_unique_and_keys_differ(org, org_admin):
    made = [make_key(org, org_admin) for _ in range(20)]
    assert len({key.prefix for key, _ in made}) == 20
    assert len({raw for _, raw in made}) == 20


# ----------------------------------------------------------------------------------------------- revoke

def test_revoke_through_the_console(org_admin_client, org, org_admin, key_and_raw):
    key, raw = key_and_raw
    confirm = org_admin_client.get(url("apikey-revoke", org, key.pk)).content.decode()
    assert "Revoke the API key HR sync?" in confirm
    assert key.prefix in confirm
    response = org_admin_client.post(url("apikey-revoke", org, key.pk), follow=True)
    assert "Revoked the key HR sync" in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert key.revoked_by == org_admin
    event = AuditEvent.objects.get(action="api_key.revoked")
    assert event.actor == org_admin
    assert event.org == org
    assert event.target_id == str(key.pk)
    assert event.metadata == {"name": "HR sync", "prefix": key.prefix, "scopes": ["members.view"]}
    assert api_key_authenticate(raw_key=raw, ip="192.0.2.1") is None
    listing = org_admin_client.get(url("apikey-list", org)).content.decode()
    assert "Revoked" in listing


def test_revoking_twice_is_a_clear_error(org_admin_client, org, org_admin, key_and_raw):
    key = key_and_raw[0]
    api_key_revoke(api_key=key, actor=org_admin, request=None)
    with pytest.raises(NotAllowed, match="already revoked"):
        api_key_revoke(api_key=key, actor=org_admin, request=None)
    assert "already revoked" in org_admin_client.get(url("apikey-revoke", org, key.pk)).content.decode()
    response = org_admin_client.post(url("apikey-revoke", org, key.pk), follow=True)
    assert response.status_code == 200
    assert "was already revoked" in response.content.decode()
    assert AuditEvent.objects.filter(action="api_key.revoked").count() == 1


# ------------------------------------------------------------------------------------------------ list

def test_list_shows_status_last_use_and_creator(org_admin_client, org, org_admin):
    active, raw = make_key(org, org_admin, name="Live key", allowed_ips=["192.0.2.0/24"])
    expired = make_key(org, org_admin, name="Old key")[0]
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    assert api_key_authenticate(raw_key=raw, ip="192.0.2.9") is not None
    page = org_admin_client.get(url("apikey-list", org)).content.decode()
    assert "Live key" in page
    assert "Old key" in page
    assert "status-active" in page
    assert "status-expired" in page
    assert "from 192.0.2.9" in page
    assert "admin@acme.test" in page
    assert "members.view" in page


def test_list_queries_stay_bounded(org_admin_client, org, org_admin, django_assert_max_num_queries):
    for n in range(3):
        make_key(org, org_admin, name=f"key {n}")
    org_admin_client.get(url("apikey-list", org))
    with django_assert_max_num_queries(10) as few:
        org_admin_client.get(url("apikey-list", org))
    for n in range(30):
        creator = MembershipFactory(org=org, role="admin", user=UserFactory()).user
        make_key(org, creator, name=f"more {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = org_admin_client.get(url("apikey-list", org))
    assert response.content.decode().count("<tr>") == 34  # header + 33 keys


# ------------------------------------------------------------------------------------------ authenticate

def test_authenticate_the_right_key_and_records_its_use(org, org_admin, key_and_raw):
    key, raw = key_and_raw
    found = api_key_authenticate(raw_key=raw, ip="192.0.2.1")
    assert found == key
    key.refresh_from_db()
    assert key.last_used_ip == "192.0.2.1"
    assert key.last_used_at is not None


def test_authenticate_writes_at_most_once_a_minute_per_address(key_and_raw):
    key, raw = key_and_raw
    api_key_authenticate(raw_key=raw, ip="192.0.2.1")
    first = ApiKey.objects.get(pk=key.pk).last_used_at
    api_key_authenticate(raw_key=raw, ip="192.0.2.1")
    assert ApiKey.objects.get(pk=key.pk).last_used_at == first
    api_key_authenticate(raw_key=raw, ip="192.0.2.2")
    assert ApiKey.objects.get(pk=key.pk).last_used_ip == "192.0.2.2"


@pytest.mark.parametrize("mangle", [
    lambda raw: raw[:-1] + ("0" if raw[-1] != "0" else "1"),  # wrong secret
    lambda raw: raw.rsplit("_", 1)[0] + "_" + "a" * 64,  # right prefix, made-up secret
    lambda raw: "ghk_" + "0" * 16 + "_" + raw.rsplit("_", 1)[1],  # unknown prefix
    lambda raw: raw.upper(),
    lambda raw: raw + " ",
    lambda raw: "",
    lambda raw: raw.rsplit("_", 1)[0],  # the visible prefix alone
])
def test_authenticate_refuses_a_wrong_or_malformed_key(key_and_raw, mangle):
    assert api_key_authenticate(raw_key=mangle(key_and_raw[1]), ip="192.0.2.1") is None


def test_authenticate_refuses_revoked_and_expired_keys(org, org_admin):
    revoked, revoked_raw = make_key(org, org_admin)
    api_key_revoke(api_key=revoked, actor=org_admin, request=None)
    expired, expired_raw = make_key(org, org_admin, expires_at=timezone.now() + timedelta(hours=1))
    ApiKey.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api_key_authenticate(raw_key=revoked_raw, ip="192.0.2.1") is None
    assert api_key_authenticate(raw_key=expired_raw, ip="192.0.2.1") is None
    assert not ApiKey.objects.filter(last_used_at__isnull=False).exists()


def test_authenticate_refuses_keys_of_a_suspended_org_or_disabled_application(org, org_admin):
    app = application_create(org=org, name="Sync", kind="machine").application
    _key, raw = make_key(org, org_admin, application=app)
    assert api_key_authenticate(raw_key=raw, ip="192.0.2.1") is not None
    application_disable(application=app, actor=org_admin, request=None)
    assert api_key_authenticate(raw_key=raw, ip="192.0.2.1") is None
    _key2, raw2 = make_key(org, org_admin)
    org.status = org.Status.SUSPENDED
    org.save(update_fields=["status"])
    assert api_key_authenticate(raw_key=raw2, ip="192.0.2.1") is None


def test_authenticate_checks_the_ipv4_allow_list(org, org_admin):
    _key, raw = make_key(org, org_admin, allowed_ips=["192.0.2.0/24", "198.51.100.7"])
    assert api_key_authenticate(raw_key=raw, ip="192.0.2.200") is not None
    assert api_key_authenticate(raw_key=raw, ip="198.51.100.7") is not None
    assert api_key_authenticate(raw_key=raw, ip="::ffff:192.0.2.5") is not None  # IPv4 seen through IPv6
    assert api_key_authenticate(raw_key=raw, ip="198.51.100.8") is None
    assert api_key_authenticate(raw_key=raw, ip="203.0.113.1") is None
    assert api_key_authenticate(raw_key=raw, ip="2001:db8::1") is None
    assert api_key_authenticate(raw_key=raw, ip="not-an-ip") is None
    assert api_key_authenticate(raw_key=raw, ip="") is None


def test_authenticate_checks_the_ipv6_allow_list(org, org_admin):
    key, raw = make_key(org, org_admin, allowed_ips=["2001:db8:abcd::/48"])
    assert api_key_authenticate(raw_key=raw, ip="2001:DB8:ABCD:12::1") is not None
    key.refresh_from_db()
    assert key.last_used_ip == "2001:db8:abcd:12::1"
    assert api_key_authenticate(raw_key=raw, ip="2001:db8:abce::1") is None
    assert api_key_authenticate(raw_key=raw, ip="192.0.2.1") is None


def test_an_empty_allow_list_allows_any_address(key_and_raw):
    raw = key_and_raw[1]
    assert api_key_authenticate(raw_key=raw, ip="203.0.113.9") is not None
    assert api_key_authenticate(raw_key=raw, ip="2001:db8::9") is not None
