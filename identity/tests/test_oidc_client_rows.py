"""The lean JWT path's per-process copy of a client's rows (config.postgresql.client_rows.client_rows,
config/postgresql/notified_cache.py): read once, forgotten as soon as a change commits, and not used while
this process cannot hear PostgreSQL's notifications.

Committed changes are what PostgreSQL notifies, so the PostgreSQL tests here run outside a test transaction
(transaction=True) and change rows the way the console does, through the services. Each checks what a machine
sees: its token (verified with PyJWT against the JWKS) or DOT's refusal, and how many statements the
request ran. On the embedded default (SQLite) there is no copy: every request reads the database.
"""

import base64
import time

import jwt
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from applications.api_services import api_create, application_api_scopes_set
from applications.models import ApiScope, Application
from applications.services import application_disable, client_secret_rotate
from config.postgresql import notified_cache
from config.postgresql.client_rows import client_rows
from directory.tests.factories import OrganizationFactory
from identity.jwks import jwks_document
from identity.signing import signing_key_ensure
from identity.tests.client_rows_support import heard_everything_so_far, until
from identity.tests.oidc_support import make_machine_app

ORDERS = "https://orders.acme.test"


def _machine():
    org = OrganizationFactory(slug="acme")
    signing_key_ensure()
    machine = make_machine_app(org, client_id="reports")
    api_create(org=org, name="Orders", identifier=ORDERS, scopes=[("orders:read", "Read"), ("orders:write", "W")])
    application = Application.objects.get(client_id="reports")
    application_api_scopes_set(application=application, scopes=ApiScope.objects.filter(name="orders:read"))
    return machine, application


def _token(machine, secret: str | None = None):
    raw = base64.b64encode(f"{machine.client_id}:{secret or machine.client_secret}".encode()).decode()
    with CaptureQueriesContext(connection) as queries:
        response = Client().post("/oauth/token", {"grant_type": "client_credentials", "scope": "orders:read"},
                                 HTTP_AUTHORIZATION=f"Basic {raw}")
    return response, len(queries.captured_queries)


def _claims(response) -> dict:
    token = response.json()["access_token"]
    key = jwt.PyJWKSet.from_json(jwks_document()[0].decode())[jwt.get_unverified_header(token)["kid"]]
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=ORDERS)


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_client_is_read_once_and_every_committed_change_is_seen_on_the_next_request(listening):
    assert connection.vendor == "postgresql", "a services test: run it with DATABASE_URL (.ci/run)"
    machine, application = _machine()
    heard_everything_so_far()  # the notifications of what _machine() made, which would empty the copy again
    first, statements = _token(machine)
    assert first.status_code == 200
    assert statements >= 1  # the client's rows (and, the first time, the signing key)
    again, statements = _token(machine)
    assert again.status_code == 200
    assert statements == 0  # the copy answered
    assert _claims(again)["scope"] == "orders:read"
    assert _claims(again)["client_id"] == "reports"

    # Each change the console can make commits, PostgreSQL notifies, the copy is emptied.
    application_api_scopes_set(application=application, scopes=ApiScope.objects.none())
    until(lambda: not client_rows._entries, "forgotten after the grant was removed")
    refused, statements = _token(machine)
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_scope"
    assert statements > 0

    application_api_scopes_set(application=application, scopes=ApiScope.objects.filter(name="orders:read"))
    until(lambda: not client_rows._entries, "forgotten after the grant came back")
    assert _token(machine)[0].status_code == 200
    new_secret = client_secret_rotate(application=Application.objects.get(pk=application.pk), actor=None)
    until(lambda: not client_rows._entries, "forgotten after the secret was rotated")
    assert _token(machine)[0].status_code == 401
    assert _token(machine, new_secret)[0].status_code == 200

    application_disable(application=Application.objects.get(pk=application.pk), actor=None)
    until(lambda: not client_rows._entries, "forgotten after the app was disabled")
    disabled, _ = _token(machine, new_secret)
    assert disabled.status_code == 401
    assert disabled.json()["error"] == "invalid_client"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_while_the_listener_is_gone_every_request_reads_the_database(listening):
    assert connection.vendor == "postgresql", "a services test: run it with DATABASE_URL (.ci/run)"
    machine, application = _machine()
    heard_everything_so_far()
    assert _token(machine)[0].status_code == 200
    assert _token(machine)[1] == 0

    # Its connection ended by the server (a restart, a failover): nothing is heard, so nothing is kept.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [client_rows.listener_backend_pid])
    until(lambda: not client_rows.listening, "off after its connection was ended")
    assert _token(machine)[1] == 1
    assert _token(machine)[1] == 1
    # It listens again by itself, starting from nothing.
    until(lambda: client_rows.listening, "listening again", seconds=10)
    heard_everything_so_far()
    assert _token(machine)[1] == 1
    assert _token(machine)[1] == 0


BREAK = {
    "dropped": ('DROP TRIGGER gatehouse_notify_applications_api ON "applications_api"',
                'CREATE TRIGGER gatehouse_notify_applications_api AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE '
                'ON "applications_api" FOR EACH STATEMENT EXECUTE FUNCTION gatehouse_notify_clients_changed()'),
    "disabled": ('ALTER TABLE "orgs_organization" DISABLE TRIGGER gatehouse_notify_orgs_organization',
                 'ALTER TABLE "orgs_organization" ENABLE TRIGGER gatehouse_notify_orgs_organization'),
}


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("trigger", BREAK)
def test_without_all_its_triggers_the_copy_is_never_used(listening, trigger):
    assert connection.vendor == "postgresql", "a services test: run it with DATABASE_URL (.ci/run)"
    machine, _ = _machine()
    breaking, repairing = BREAK[trigger]
    with connection.cursor() as cursor:
        cursor.execute(breaking)
    try:
        client_rows.stop(connection.alias)
        assert _token(machine)[0].status_code == 200  # starts the listener again, which finds the trigger gone
        time.sleep(notified_cache.RETRY_SECONDS[0] + 0.5)
        assert not client_rows.listening
        assert _token(machine)[1] == 1
        assert _token(machine)[1] == 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute(repairing)
        client_rows.stop(connection.alias)


@pytest.mark.django_db
def test_inside_a_transaction_nothing_is_kept_or_served():
    # A test transaction (as any transaction) sees rows no other process can: each request reads them.
    machine, _ = _machine()
    assert _token(machine)[0].status_code == 200  # the signing key is read once per process
    for _ in range(2):
        response, statements = _token(machine)
        assert response.status_code == 200
        assert statements == 1
    assert client_rows._entries == {}
