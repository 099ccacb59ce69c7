"""Statements prepared on the server around the sign-in and token requests (config/prepared_statements.py),
against a real PostgreSQL server: which requests prepare, that the whole request is inside (the session
written on the way out), that nothing else prepares, and that the query log still shows values.

What PostgreSQL holds prepared for this connection is read from pg_prepared_statements; each test compares
it before and after (psycopg's own cache must stay in step with the server, so nothing is deallocated).
"""

import base64
import hashlib

import pytest
from django.core.exceptions import MiddlewareNotUsed
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config import prepared_statements
from config.tests.test_services import require_env
from directory.models import User
from directory.tests.factories import DEFAULT_PASSWORD
from identity.tests.oidc_support import authorize_path, make_web_app, query_of

VERIFIER = "a-verifier-of-forty-three-characters-or-more-0123456789"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).decode().rstrip("=")


def _prepared() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def postgresql():
    require_env("DATABASE_URL")
    connection.ensure_connection()


def _newly_prepared(before: set[str], *fragments: str) -> list[str]:
    """Which of `fragments` appear in a statement prepared since `before`."""
    new = _prepared() - before
    return [fragment for fragment in fragments if any(fragment in statement for statement in new)]


@pytest.mark.services
@pytest.mark.django_db
def test_a_sign_in_prepares_its_statements_through_to_the_session_it_writes(postgresql, client, org_member, settings):
    before = _prepared()
    response = client.post("/login", {"email": org_member.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert response.cookies[settings.SESSION_COOKIE_NAME].value
    fragments = ('FROM "directory_user"', 'INSERT INTO "identity_usersession"', 'INSERT INTO "audit_auditevent"',
                 'INSERT INTO "django_session"')  # the last by SessionMiddleware, after the view returned
    assert _newly_prepared(before, *fragments) == list(fragments)


@pytest.mark.services
@pytest.mark.django_db
def test_the_code_exchange_on_the_short_chain_prepares_its_statements(postgresql, client, org, org_member):
    made = make_web_app(org)
    to_login = client.get(authorize_path(made, code_challenge=CHALLENGE))
    assert to_login.status_code == 302
    signed_in = client.post("/login", {"email": org_member.email, "password": DEFAULT_PASSWORD,
                                       "next": query_of(to_login["Location"])["next"]})
    code = query_of(signed_in["Location"])["code"]
    before = _prepared()
    token = client.post("/oauth/token", {"grant_type": "authorization_code", "code": code, "code_verifier": VERIFIER,
                                         "redirect_uri": made.redirect_uri, "client_id": made.client_id,
                                         "client_secret": made.client_secret})
    assert token.status_code == 200, token.content
    assert token.json()["id_token"]
    fragments = ('FROM "oauth2_provider_grant"', 'INSERT INTO "oauth2_provider_accesstoken"',
                 'INSERT INTO "oauth2_provider_refreshtoken"')
    assert _newly_prepared(before, *fragments) == list(fragments)


@pytest.mark.services
@pytest.mark.django_db
def test_a_console_page_prepares_nothing(postgresql, org, org_admin_client):
    before = _prepared()
    page = org_admin_client.get(reverse("console:user-list", kwargs={"org_slug": org.slug}))
    assert page.status_code == 200
    assert b"admin@acme.test" in page.content
    assert _prepared() - before == set()


@pytest.mark.services
@pytest.mark.django_db
def test_scopes_nest_and_outside_them_statements_are_not_prepared(postgresql):
    named = User.objects.filter(full_name="Nobody Such")
    before = _prepared()
    with connection.prepared_statements():
        with connection.prepared_statements():
            assert named.count() == 0
        assert not named.exists()  # still inside the outer scope
    assert named.values_list("id").first() is None  # outside: sent with its value, as Django sends it
    new = _prepared() - before
    assert len(new) == 2
    assert [statement for statement in new if "COUNT(*)" in statement]
    assert not [statement for statement in new if "ORDER BY" in statement]  # first()'s statement orders by id


@pytest.mark.services
@pytest.mark.django_db
def test_the_query_log_shows_a_prepared_statement_with_its_values(postgresql, org_member):
    with CaptureQueriesContext(connection) as queries, connection.prepared_statements():
        assert User.objects.filter(email=org_member.email).get() == org_member
    assert len(queries) == 1
    assert f"'{org_member.email}'" in queries[0]["sql"]


@pytest.mark.services
@pytest.mark.django_db
def test_a_database_error_inside_the_scope_closes_it(postgresql, client, org_member):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.prepared_statements():
        User.objects.create(email=org_member.email, public_id=org_member.public_id)
    assert connection._preparing == 0
    assert client.post("/login", {"email": org_member.email, "password": DEFAULT_PASSWORD}).status_code == 302


def test_every_listed_url_name_is_a_path(settings):
    paths = [reverse(name) for name in settings.GATEHOUSE_PREPARED_URL_NAMES]
    assert "/login" in paths
    assert "/oauth/token" in paths
    assert len(set(paths)) == len(paths)


def test_on_a_database_that_cannot_prepare_the_middleware_steps_aside(monkeypatch):
    monkeypatch.setattr(prepared_statements, "connections", {"default": object()})
    with pytest.raises(MiddlewareNotUsed):
        prepared_statements.PreparedStatementsMiddleware(lambda request: None)
