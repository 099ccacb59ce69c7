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
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Signing keys, JWKS and discovery are cached per process; each test starts from its own database."""
    from identity.oidc.endpoints import discovery_cache_clear
    from identity.signing import signing_key_cache_clear

    signing_key_cache_clear()
    discovery_cache_clear()


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
