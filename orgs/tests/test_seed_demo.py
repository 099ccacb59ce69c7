"""manage.py seed_demo: the demo data, its idempotency, and its refusal outside the embedded default."""

import io

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command
from django.test import Client

from applications.api_services import api_create, application_api_scopes_set
from applications.models import Api, ApiScope, Application
from audit.models import AuditEvent
from config.tests.migrated_template import embedded_env, run_manage
from directory.models import Group, GroupMembership, User
from orgs.models import Membership, Organization

CREDENTIALS = [
    ("admin@example.com", "gatehouse-admin"),
    ("alice@acme.test", "demo-password-123"),
    ("bob@acme.test", "demo-password-123"),
    ("carol@globex.test", "demo-password-123"),
]
SECRETS = [("hr-portal", "hr-portal-secret"), ("acme-reports", "acme-reports-secret")]
API_SECRET = ("https://orders.acme.test", "orders-api-secret")
MODELS = (User, Organization, Membership, Group, GroupMembership, Application, Api, ApiScope, AuditEvent)


@pytest.fixture
def embedded(settings, monkeypatch):
    # The suite may run on PostgreSQL (.ci/run), where seed_demo would rightly refuse.
    settings.EMBEDDED = True
    monkeypatch.delenv("GATEHOUSE_ADMIN_PASSWORD", raising=False)


def seed_demo(**options) -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def snapshot() -> dict:
    """Row counts and the fields the demo promises, password and secret hashes included."""
    return {
        "counts": {model.__name__: model.objects.count() for model in MODELS},
        "users": sorted(User.objects.values_list("email", "full_name", "is_superuser", "email_verified", "password")),
        "orgs": sorted(Organization.objects.values_list("slug", "name")),
        "memberships": sorted(Membership.objects.values_list("org__slug", "user__email", "role", "status")),
        "groups": sorted(Group.objects.values_list("org__slug", "slug", "name")),
        "group_members": sorted(GroupMembership.objects.values_list("group__slug", "user__email")),
        "apps": sorted(Application.objects.values_list(
            "org__slug", "client_id", "name", "kind", "client_type", "redirect_uris", "post_logout_redirect_uris",
            "allowed_origins", "client_secret")),
        "apis": sorted(Api.objects.values_list(
            "org__slug", "identifier", "name", "token_format", "access_token_lifetime", "client_id", "client_secret")),
        "api_scopes": sorted(ApiScope.objects.values_list("api__identifier", "name", "description")),
        "api_grants": sorted(Application.objects.filter(api_scopes__isnull=False)
                             .values_list("client_id", "api_scopes__name")),
    }


def signs_in(email: str, password: str) -> bool:
    client = Client()
    response = client.post("/login", {"email": email, "password": password})
    return response.status_code == 302 and client.session.get("_auth_user_id") == str(
        User.objects.get(email=email).pk)


@pytest.mark.django_db
@pytest.mark.usefixtures("embedded")
def test_first_run_creates_the_demo_data():
    output = seed_demo()

    data = snapshot()
    assert [row[:4] for row in data["users"]] == [
        ("admin@example.com", "Gatehouse Admin", True, True),
        ("alice@acme.test", "Alice Anderson", False, True),
        ("bob@acme.test", "Bob Brown", False, True),
        ("carol@globex.test", "Carol Chen", False, True),
    ]
    assert data["orgs"] == [("acme", "Acme Corp"), ("globex", "Globex")]
    assert data["memberships"] == [
        ("acme", "alice@acme.test", "owner", "active"),
        ("acme", "bob@acme.test", "member", "active"),
        ("globex", "carol@globex.test", "admin", "active"),
    ]
    assert data["groups"] == [("acme", "engineering", "Engineering")]
    assert data["group_members"] == [("engineering", "bob@acme.test")]
    assert [row[:8] for row in data["apps"]] == [
        ("acme", "acme-reports", "Reports", "machine", "confidential", "", "", ""),
        ("acme", "hr-portal", "HR Portal", "web", "confidential", "http://127.0.0.1:4003/auth/callback",
         "http://127.0.0.1:4003/", ""),
        ("acme", "project-tracker", "Project Tracker", "spa", "public", "http://127.0.0.1:4001/callback", "",
         "http://127.0.0.1:4001"),
    ]
    assert [row[:5] for row in data["apis"]] == [
        ("acme", "https://orders.acme.test", "Orders API", "jwt", 600)]
    assert data["api_scopes"] == [
        ("https://orders.acme.test", "orders:read", "See your orders"),
        ("https://orders.acme.test", "orders:write", "Place and change orders"),
    ]
    # Nobody holds orders:write: the demo shows the API's 403 insufficient_scope with it.
    assert data["api_grants"] == [("acme-reports", "orders:read"), ("hr-portal", "orders:read")]
    api = Api.objects.get()
    assert check_password(API_SECRET[1], api.client_secret)
    assert f"introspection client_id {api.client_id} client_secret orders-api-secret" in output
    assert "Created 17:" in output
    credential_lines = {" ".join(line.split()[-2:]) for line in output.splitlines()}
    for email, password in CREDENTIALS:
        assert f"{email} {password}" in credential_lines
    for action in ("user.created", "organization.created", "membership.created", "group.created",
                   "group.member_added", "application.created", "api.created",
                   "application.api_scopes_changed"):
        assert AuditEvent.objects.filter(action=action).exists(), action


@pytest.mark.django_db
@pytest.mark.usefixtures("embedded")
def test_second_run_leaves_the_same_data_and_the_credentials_still_work():
    seed_demo()
    first = snapshot()

    output = seed_demo()

    assert snapshot() == first  # same rows, same hashes, and no new audit rows
    assert "Created 0: nothing." in output
    assert "Already present 17." in output
    for email, password in CREDENTIALS:
        assert signs_in(email, password), email
    for client_id, secret in SECRETS:
        assert check_password(secret, Application.objects.get(client_id=client_id).client_secret)
    assert check_password(API_SECRET[1], Api.objects.get(identifier=API_SECRET[0]).client_secret)


@pytest.mark.django_db
@pytest.mark.usefixtures("embedded")
def test_rerun_resets_a_changed_demo_password_and_secret_and_audits_it():
    seed_demo()
    alice = User.objects.get(email="alice@acme.test")
    alice.set_password("changed-by-someone-else")
    alice.save()
    hr_portal = Application.objects.get(client_id="hr-portal")
    hr_portal.client_secret = "rotated-in-the-console"
    hr_portal.save()
    counts = snapshot()["counts"]

    output = seed_demo()

    assert "Reset to the demo value: password of alice@acme.test, secret of hr-portal." in output
    assert snapshot()["counts"] == {**counts, "AuditEvent": counts["AuditEvent"] + 2}
    assert AuditEvent.objects.filter(action="user.password_reset", target_id=str(alice.pk)).exists()
    assert AuditEvent.objects.filter(action="application.secret_rotated", target_id=str(hr_portal.pk)).exists()
    assert signs_in("alice@acme.test", "demo-password-123")
    assert check_password("hr-portal-secret", Application.objects.get(client_id="hr-portal").client_secret)


@pytest.mark.django_db
@pytest.mark.usefixtures("embedded")
def test_finds_existing_users_whatever_the_letter_case(org):
    User.objects.create_user("Alice@ACME.test", password=None)

    seed_demo()

    assert User.objects.filter(email__iexact="alice@acme.test").count() == 1
    assert signs_in("Alice@acme.test", "demo-password-123")


@pytest.mark.django_db
@pytest.mark.usefixtures("embedded")
def test_admin_password_comes_from_the_environment_and_is_not_printed(monkeypatch):
    monkeypatch.setenv("GATEHOUSE_ADMIN_PASSWORD", "operator-chosen-passphrase")

    output = seed_demo()

    assert signs_in("admin@example.com", "operator-chosen-passphrase")
    assert "operator-chosen-passphrase" not in output
    assert "GATEHOUSE_ADMIN_PASSWORD" in output


@pytest.mark.django_db
@pytest.mark.usefixtures("embedded")
def test_refuses_to_take_over_a_client_id_of_another_org(other_org):
    call_command("create_application", "--org", "globex", "--name", "Theirs", "--kind", "machine",
                 "--client-id", "acme-reports", stdout=io.StringIO())
    before = snapshot()

    with pytest.raises(CommandError) as excinfo:
        seed_demo()

    assert excinfo.value.returncode == 2
    assert "belongs to an application in globex" in str(excinfo.value)
    assert snapshot() == before


@pytest.mark.django_db
def test_refuses_a_non_embedded_database_without_force(settings):
    settings.EMBEDDED = False
    out = io.StringIO()

    with pytest.raises(CommandError) as excinfo:
        call_command("seed_demo", stdout=out)

    assert excinfo.value.returncode == 2
    assert "--force" in str(excinfo.value)
    assert out.getvalue() == ""
    assert all(count == 0 for count in snapshot()["counts"].values())


@pytest.mark.django_db
def test_force_writes_into_a_non_embedded_database(settings, monkeypatch):
    settings.EMBEDDED = False
    monkeypatch.delenv("GATEHOUSE_ADMIN_PASSWORD", raising=False)

    seed_demo(force=True)

    assert signs_in("bob@acme.test", "demo-password-123")


def test_refusal_exits_2_from_the_command_line(tmp_path):
    database = tmp_path / "production.sqlite3"
    env = embedded_env(DATABASE_URL=f"sqlite:///{database}", SECRET_KEY="test-secret-key-" * 4,
                       GATEHOUSE_ENCRYPTION_KEYS=Fernet.generate_key().decode(), GATEHOUSE_VAR_DIR=str(tmp_path))

    result = run_manage("seed_demo", env=env)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("CommandError: seed_demo writes well-known passwords")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not database.exists()


@pytest.mark.django_db
@pytest.mark.usefixtures("embedded")
def test_rerun_puts_back_the_apis_secret_a_removed_scope_and_grant_and_keeps_what_was_added():
    seed_demo()
    api = Api.objects.get(identifier="https://orders.acme.test")
    Api.objects.filter(pk=api.pk).update(client_secret="rotated-in-the-console")
    api.scopes.filter(name="orders:read").delete()  # withdraws it from Reports and HR Portal too
    ApiScope.objects.create(api=api, org=api.org, name="orders:export", description="Export your orders")
    reports = Application.objects.get(client_id="acme-reports")
    application_api_scopes_set(application=reports, scopes=api.scopes.filter(name="orders:export"))
    assert list(Application.objects.get(client_id="hr-portal").api_scopes.all()) == []

    output = seed_demo()

    assert "Reset to the demo value: secret of https://orders.acme.test." in output
    assert "scope orders:read of https://orders.acme.test, orders:read for acme-reports, " \
           "orders:read for hr-portal." in output
    assert check_password("orders-api-secret", Api.objects.get(pk=api.pk).client_secret)
    assert AuditEvent.objects.filter(action="api.secret_rotated", target_id=str(api.pk)).exists()
    assert AuditEvent.objects.filter(action="api.updated", target_id=str(api.pk)).exists()
    data = snapshot()
    assert [row[1] for row in data["api_scopes"]] == ["orders:export", "orders:read", "orders:write"]
    assert data["api_grants"] == [("acme-reports", "orders:export"), ("acme-reports", "orders:read"),
                                  ("hr-portal", "orders:read")]


@pytest.mark.django_db
@pytest.mark.usefixtures("embedded")
def test_refuses_to_take_over_an_api_identifier_of_another_org(other_org):
    api_create(org=other_org, name="Theirs", identifier="https://orders.acme.test",
               scopes=[("orders:read", "Their orders")])
    before = snapshot()

    with pytest.raises(CommandError) as excinfo:
        seed_demo()

    assert excinfo.value.returncode == 2
    assert f"belongs to an API in {other_org.slug}" in str(excinfo.value)
    assert snapshot() == before
