"""Shared test fixtures: organizations, people in each role, and signed-in clients.

Tests run on the embedded default unless DATABASE_URL/REDIS_URL are set (as .ci/run does).
"""

import pytest
from django.conf import settings

from directory.tests.factories import GroupFactory, MembershipFactory, OrganizationFactory, UserFactory
from identity.services import session_sign_in_for_tests

TEST_PASSWORD = "correct-horse-battery-staple"


def pytest_configure(config):
    # Hashing with Argon2 would dominate the suite's time; tests check behaviour, not cost.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher",
                                 *settings.PASSWORD_HASHERS]
    # Tests render {% static %} without running collectstatic first.
    settings.STORAGES = {**settings.STORAGES,
                         "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    settings.WHITENOISE_USE_FINDERS = True
    settings.STATIC_ROOT = None
    _walk_static_files_once()
    from django.db import connection

    if not hasattr(config, "workerinput") and _in_memory_test_database(connection):
        from config.tests.migrated_template import migrate_in_background

        migrate_in_background()
    # After each transactional test, Django's flush re-created every content type and permission through
    # post_migrate (~3 % of the suite's time). Gatehouse reads neither table (its roles are its own).
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes
    from django.db.models.signals import post_migrate

    post_migrate.disconnect(create_permissions, dispatch_uid="django.contrib.auth.management.create_permissions")
    post_migrate.disconnect(create_contenttypes)
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


def _in_memory_test_database(connection) -> str | None:
    """The test database's name when it is SQLite in memory (the embedded default), whose tables are copied
    from the migrated template (django_db_setup, below); else None."""
    if connection.vendor != "sqlite":
        return None
    name = connection.creation._get_test_db_name()
    return name if connection.creation.is_in_memory_db(name) else None


def _walk_static_files_once():
    """Each test Client builds its own middleware, and WhiteNoise walked every static file again for each
    (6 % of the suite's time). The files do not change during a run; what a walk finds is kept per
    max-age (DEBUG changes it)."""
    from whitenoise.middleware import WhiteNoiseMiddleware

    walk = WhiteNoiseMiddleware.add_files_from_finders
    found: dict[int, dict] = {}

    def add_files_from_finders(self):
        if self.max_age not in found:
            walk(self)
            found[self.max_age] = dict(self.files)
        self.files.update(found[self.max_age])

    WhiteNoiseMiddleware.add_files_from_finders = add_files_from_finders


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_use_migrations, django_db_keepdb,
                    django_db_createdb, django_db_modify_db_settings):
    """On the embedded default, each worker's in-memory test database is a copy of one migrated template
    (config/tests/migrated_template.py) instead of a migration run of its own. Any other database
    (PostgreSQL through DATABASE_URL, as .ci/run's test-all sets) gets pytest-django's own setup."""
    from django.db import connection
    from pytest_django.fixtures import django_db_setup as plugin_setup

    from config.tests.migrated_template import copy_into

    test_name = _in_memory_test_database(connection)
    if test_name is None:
        setup = plugin_setup.__wrapped__(request, django_test_environment, django_db_blocker, django_db_use_migrations,
                                         django_db_keepdb, django_db_createdb, django_db_modify_db_settings)
        next(setup)
        yield
        # PostgreSQL drops no database that a connection is open to: the client rows' listener goes first.
        from config.postgresql.client_rows import client_rows

        with django_db_blocker.unblock():
            client_rows.stop(connection.alias)
        next(setup, None)
        return
    original_name = connection.settings_dict["NAME"]
    with django_db_blocker.unblock():
        connection.close()
        settings.DATABASES[connection.alias]["NAME"] = connection.settings_dict["NAME"] = test_name
        copy_into(connection)
    yield
    with django_db_blocker.unblock():
        connection.close()
    settings.DATABASES[connection.alias]["NAME"] = connection.settings_dict["NAME"] = original_name


_SIGNING_KEYS: list[tuple[str, str, dict]] = []
_LOADED_KEYS: dict[str, object] = {}


def _loaded_keys(load):
    def load_once(pem: str):
        if pem not in _LOADED_KEYS:
            _LOADED_KEYS[pem] = load(pem)
        return _LOADED_KEYS[pem]

    return load_once


@pytest.fixture(autouse=True)
def _pooled_signing_keys(monkeypatch):
    """A new 2048-bit RSA signing key costs ~45 ms to generate and ~30 ms more to export, and most token
    tests make one or two. Each test draws distinct keys from a per-process pool of real ones that grows on
    demand, so keys within a test never repeat. (identity.signing._generate is what makes each key.)"""
    from identity import signing

    generate = signing._generate
    drawn = 0

    def pooled():
        nonlocal drawn
        if drawn == len(_SIGNING_KEYS):
            _SIGNING_KEYS.append(generate())
        drawn += 1
        kid, pem, public_jwk = _SIGNING_KEYS[drawn - 1]
        return kid, pem, dict(public_jwk)

    monkeypatch.setattr(signing, "_generate", pooled)
    # Loading a key again (each test starts with empty key caches) would rebuild its private key with
    # cryptography's RSA consistency check, ~30 ms; a pooled key's PEM maps to the JWK loaded first.
    monkeypatch.setattr(signing, "_load_private_jwk", _loaded_keys(signing._load_private_jwk))


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Signing keys, JWKS, discovery, the copy of client rows and the blocked-client memory are per process;
    each test starts afresh.
    So do counters kept in Redis (with REDIS_URL set), which no test transaction rolls back."""
    from config.postgresql.client_rows import client_rows
    from identity.oidc.endpoints import discovery_cache_clear
    from identity.signing import signing_key_cache_clear
    from security.client_auth_throttle import client_auth_memory_clear
    from security.counters import redis_counters_clear

    signing_key_cache_clear()
    discovery_cache_clear()
    client_rows.forget()
    client_auth_memory_clear()
    redis_counters_clear()


@pytest.fixture
def password() -> str:
    return TEST_PASSWORD


@pytest.fixture
def org(db):
    return OrganizationFactory(slug="acme", name="Acme Corp")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(slug="globex", name="Globex")


def _member(org, role, email):
    return MembershipFactory(org=org, role=role, user=UserFactory(email=email)).user


@pytest.fixture
def org_owner(org):
    return _member(org, "owner", "owner@acme.test")


@pytest.fixture
def org_admin(org):
    return _member(org, "admin", "admin@acme.test")


@pytest.fixture
def org_auditor(org):
    return _member(org, "auditor", "auditor@acme.test")


@pytest.fixture
def org_member(org):
    return _member(org, "member", "member@acme.test")


@pytest.fixture
def other_org_admin(other_org):
    return _member(other_org, "admin", "admin@globex.test")


@pytest.fixture
def operator(db):
    return UserFactory(email="operator@example.com", is_superuser=True)


@pytest.fixture
def group(org):
    return GroupFactory(org=org, name="Engineering", slug="engineering")


@pytest.fixture
def sign_in(client):
    """Sign a user in on the test client through the real session machinery (a UserSession row too)."""

    def _sign_in(user, c=None):
        c = c or client
        session_sign_in_for_tests(client=c, user=user)
        return c

    return _sign_in


@pytest.fixture
def org_admin_client(client, sign_in, org_admin):
    return sign_in(org_admin)


@pytest.fixture
def operator_client(client, sign_in, operator):
    return sign_in(operator)


@pytest.fixture
def other_org_admin_client(client, sign_in, other_org_admin):
    return sign_in(other_org_admin)


# ---------------------------------------------------------------------- browser tests (marker: browser)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def browser_page(monkeypatch):
    """A page in the system Chromium, driven by Playwright (its own browser download is not used)."""
    from django.db import connections
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django then refuses ORM calls here.
    # Set per test, so collecting a browser module never relaxes the check for other tests.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser.new_page(viewport={"width": 1280, "height": 800})
        finally:
            browser.close()
            # While Playwright's loop runs, Django keeps this thread's connections in a context of their
            # own (asgiref's Local); close them now, or PostgreSQL refuses to drop the test database.
            connections.close_all()


@pytest.fixture
def console_messages(browser_page) -> list[str]:
    """What each page logs, with its URL: CSP violations read "Refused to ... Content Security Policy"."""
    messages: list[str] = []
    browser_page.on("console", lambda message: messages.append(
        f"{message.type}: {message.text} (on {browser_page.url})"))
    browser_page.on("pageerror", lambda error: messages.append(f"pageerror: {error} (on {browser_page.url})"))
    return messages


@pytest.fixture
def failed_responses(browser_page) -> list[str]:
    """Every response that failed (a stylesheet, script or icon 404 would leave a broken page)."""
    failed: list[str] = []
    browser_page.on("response", lambda response: failed.append(f"{response.status} {response.url}")
                    if response.status >= 400 else None)
    return failed


def browser_sign_in(page, live_server, *, email: str, password: str, lands_on: str) -> None:
    """Sign in through the hosted page in the browser, and wait until it lands on `lands_on` (a path)."""
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page).to_have_url(f"{live_server.url}{lands_on}")


@pytest.fixture
def browser_acme_admin(live_server, browser_page):
    """Org acme with an admin (admin@acme.test, "Ada Admin") signed in at its console in the browser.
    For tests marked django_db(transaction=True), so the live server sees the rows."""
    from directory.tests.factories import DEFAULT_PASSWORD, MembershipFactory, OrganizationFactory, UserFactory

    org = OrganizationFactory(slug="acme", name="Acme Corp")
    MembershipFactory(org=org, role="admin", user=UserFactory(email="admin@acme.test", full_name="Ada Admin"))
    browser_sign_in(browser_page, live_server, email="admin@acme.test", password=DEFAULT_PASSWORD,
                    lands_on="/console/acme/")
    return org
