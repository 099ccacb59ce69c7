"""Failed client authentication at /oauth/token, /oauth/revoke and /oauth/introspect is throttled per
client IP and per client_id (429 + Retry-After, one audit event per window); other clients, and the
real client from its own address, keep working. Counted in database rows and in Redis (`services`)."""

import base64
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from applications.models import Application
from audit.models import AuditEvent
from identity.tests.oidc_support import make_machine_app
from security import client_auth_throttle as throttle
from security.counters import DatabaseCounters

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("counter_backend")]

IP_LIMIT, CLIENT_LIMIT, WINDOW = 5, 3, 300
# 100 s into a 300 s window that starts at 12:00:00 UTC.
T0 = datetime(2030, 1, 1, 12, 1, 40, tzinfo=UTC)
ATTACKER, VICTIM_HOST, BYSTANDER = "198.51.100.66", "192.0.2.10", "203.0.113.20"


@pytest.fixture(autouse=True)
def limits(monkeypatch):
    monkeypatch.setattr(throttle, "IP_LIMIT", IP_LIMIT)
    monkeypatch.setattr(throttle, "CLIENT_LIMIT", CLIENT_LIMIT)
    monkeypatch.setattr(throttle, "IP_WINDOW_SECONDS", WINDOW)
    monkeypatch.setattr(throttle, "CLIENT_WINDOW_SECONDS", WINDOW)
    clock = {"now": T0}
    monkeypatch.setattr(throttle, "_now", lambda: clock["now"])
    throttle.client_auth_memory_clear()  # each test is a fresh process
    yield clock
    throttle.client_auth_memory_clear()


def basic(client_id: str, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def token(client, client_id, secret, ip, **extra):
    return client.post("/oauth/token", "grant_type=client_credentials",
                       content_type="application/x-www-form-urlencoded",
                       HTTP_AUTHORIZATION=basic(client_id, secret), REMOTE_ADDR=ip, **extra)


def events():
    return list(AuditEvent.objects.filter(action="client.auth_throttled").order_by("pk"))


def assert_throttled(response, seconds=200):
    assert response.status_code == 429, response.content
    assert response["Retry-After"] == str(seconds)
    body = response.json()
    assert body["error"] == "too_many_requests"
    assert f"Wait {seconds} seconds" in body["error_description"]
    assert response["Cache-Control"] == "no-store"


def test_wrong_secrets_from_one_ip_are_refused_after_the_limit_with_one_audit_event(client, org):
    machine = make_machine_app(org)
    # Wrong secrets for several clients: the per-client limit stays out of reach, the IP's does not.
    client_ids = [f"unknown-{n}" for n in range(IP_LIMIT - 1)] + [machine.client_id]
    assert [token(client, client_id, "wrong", ATTACKER).status_code for client_id in client_ids] == [401] * IP_LIMIT

    assert_throttled(token(client, machine.client_id, "wrong", ATTACKER))
    # Refused before the secret is checked: the right one does not get through from this IP either.
    assert_throttled(token(client, machine.client_id, machine.client_secret, ATTACKER))
    assert_throttled(token(client, "nobody", "x", ATTACKER))

    [event] = events()
    assert event.org == org
    assert event.ip == ATTACKER
    assert event.metadata["limit"] == "ip"
    assert event.metadata["client_id"] == machine.client_id
    assert event.metadata["ip"] == ATTACKER
    assert event.metadata["failures"] == IP_LIMIT
    assert "wrong" not in str(event.metadata)
    assert machine.client_secret not in str(event.metadata)


def test_another_client_from_another_ip_is_unaffected_and_costs_no_extra_statement(client, org, other_org):
    for _ in range(IP_LIMIT):
        token(client, "nobody", "wrong", ATTACKER)
    assert_throttled(token(client, "nobody", "wrong", ATTACKER))
    bystander = make_machine_app(other_org, client_id="globex-machine")

    with CaptureQueriesContext(connection) as queries:
        response = token(client, bystander.client_id, bystander.client_secret, BYSTANDER)
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"
    # The same two statements as without any throttle: the client's SELECT and the token's INSERT.
    assert len(queries.captured_queries) == 2, [query["sql"] for query in queries.captured_queries]


def test_a_valid_request_gains_no_statement(client, org):
    machine = make_machine_app(org)
    with CaptureQueriesContext(connection) as queries:
        assert token(client, machine.client_id, machine.client_secret, BYSTANDER).status_code == 200
    assert len(queries.captured_queries) == 2


def test_the_victim_keeps_getting_tokens_from_its_own_address_while_the_attacker_is_refused(client, org,
                                                                                         counter_backend):
    victim = make_machine_app(org)
    for _ in range(CLIENT_LIMIT):
        assert token(client, victim.client_id, "guess", ATTACKER).status_code == 401

    assert_throttled(token(client, victim.client_id, "guess", ATTACKER))
    assert_throttled(token(client, victim.client_id, victim.client_secret, ATTACKER))
    for _ in range(3):
        with CaptureQueriesContext(connection) as queries:
            response = token(client, victim.client_id, victim.client_secret, VICTIM_HOST)
        assert response.status_code == 200, response.content
        assert response.json()["access_token"]
        # While its client_id is under attack, one read finds that this address never failed for it:
        # a SELECT of a counter row, or a GET in Redis.
        assert len(queries.captured_queries) == (3 if isinstance(counter_backend, DatabaseCounters) else 2)
    # The attacker's address is blocked for this client only: another client from it still works.
    other = make_machine_app(org, client_id="other-machine")
    assert token(client, other.client_id, other.client_secret, ATTACKER).status_code == 200

    [event] = events()
    assert event.metadata["limit"] == "client"
    assert event.org == org
    assert event.target_type == "applications.application"
    assert event.target_id == str(Application.objects.get(client_id=victim.client_id).pk)


def test_the_client_limit_holds_for_an_attacker_spread_over_many_addresses(client, org):
    victim = make_machine_app(org)
    addresses = [f"10.0.{n}.1" for n in range(CLIENT_LIMIT)]
    for address in addresses:
        assert token(client, victim.client_id, "guess", address).status_code == 401

    for address in addresses:
        assert_throttled(token(client, victim.client_id, "guess", address))
    # A new address gets the one guess it has not failed yet, and is refused after it.
    assert token(client, victim.client_id, "guess", "10.9.9.9").status_code == 401
    assert_throttled(token(client, victim.client_id, "guess", "10.9.9.9"))
    assert token(client, victim.client_id, victim.client_secret, VICTIM_HOST).status_code == 200
    assert [event.metadata["limit"] for event in events()] == ["client"]


def test_the_window_ending_lets_requests_through_and_a_new_trip_is_audited_again(client, org, limits):
    machine = make_machine_app(org)
    for n in range(IP_LIMIT):
        assert token(client, f"unknown-{n}", "wrong", ATTACKER).status_code == 401
    limits["now"] = T0 + timedelta(seconds=199)  # 12:04:59, one second before the window ends
    assert_throttled(token(client, machine.client_id, machine.client_secret, ATTACKER), seconds=1)

    limits["now"] = T0 + timedelta(seconds=200)  # 12:05:00, a new window
    assert token(client, machine.client_id, machine.client_secret, ATTACKER).status_code == 200
    for n in range(IP_LIMIT):
        assert token(client, f"unknown-{n}", "wrong", ATTACKER).status_code == 401
    assert_throttled(token(client, machine.client_id, "wrong", ATTACKER), seconds=300)
    assert [event.metadata["limit"] for event in events()] == ["ip", "ip"]


def test_a_process_that_has_not_seen_the_block_lets_one_attempt_through_then_refuses(client, org):
    machine = make_machine_app(org)
    for n in range(IP_LIMIT):
        token(client, f"unknown-{n}", "wrong", ATTACKER)
    throttle.client_auth_memory_clear()  # another worker process

    assert token(client, machine.client_id, "wrong", ATTACKER).status_code == 401
    assert_throttled(token(client, machine.client_id, "wrong", ATTACKER))
    assert len(events()) == 1


@pytest.mark.parametrize("path", ["/oauth/revoke", "/oauth/introspect"])
def test_revocation_and_introspection_are_throttled_too(client, org, path):
    machine = make_machine_app(org)
    for _ in range(CLIENT_LIMIT):
        response = client.post(path, {"token": "abc"}, HTTP_AUTHORIZATION=basic(machine.client_id, "wrong"),
                               REMOTE_ADDR=ATTACKER)
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
    assert_throttled(client.post(path, {"token": "abc"}, HTTP_AUTHORIZATION=basic(machine.client_id, "wrong"),
                                 REMOTE_ADDR=ATTACKER))
    # Body credentials name the same client.
    assert_throttled(client.post(path, {"token": "abc", "client_id": machine.client_id, "client_secret": "x"},
                                 REMOTE_ADDR=ATTACKER))
    answer = client.post(path, {"token": "abc"}, HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret),
                         REMOTE_ADDR=VICTIM_HOST)
    assert answer.status_code == 200
    [event] = events()
    assert event.metadata["limit"] == "client"


def test_failures_at_every_endpoint_add_up_for_one_ip(client, org):
    paths = ["/oauth/token", "/oauth/revoke", "/oauth/introspect"]
    for n in range(IP_LIMIT):
        response = client.post(paths[n % 3], {"grant_type": "client_credentials", "token": "t"},
                               HTTP_AUTHORIZATION=basic(f"unknown-{n}", "x"), REMOTE_ADDR=ATTACKER)
        assert response.status_code == 401
    for path in paths:
        assert_throttled(client.post(path, {"token": "t"}, REMOTE_ADDR=ATTACKER))
    [event] = events()
    assert event.org is None  # the client_id named no application: platform-level
    assert event.metadata["client_id"] == f"unknown-{IP_LIMIT - 1}"


def test_errors_that_are_not_client_authentication_do_not_count(client, org):
    machine = make_machine_app(org)
    for _ in range(IP_LIMIT + 1):
        response = client.post("/oauth/token", {"grant_type": "magic"},
                               HTTP_AUTHORIZATION=basic(machine.client_id, machine.client_secret), REMOTE_ADDR=ATTACKER)
        assert response.status_code == 400
    assert token(client, machine.client_id, machine.client_secret, ATTACKER).status_code == 200
    assert events() == []


@pytest.mark.parametrize("authorization", [
    "Basic %%%not-base64",
    "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
    "Basic " + base64.b64encode(b"no-colon").decode(),
    "Basic",
    "Bearer abc",
    basic("a\x00b", "x"),
    basic("c" * 20_000, "x"),
])
def test_junk_credentials_get_401_then_429_never_500(client, org, authorization, monkeypatch):
    monkeypatch.setattr(throttle, "CLIENT_LIMIT", 100)  # the IP's limit, whatever client_id was read
    for _ in range(IP_LIMIT):
        response = client.post("/oauth/token", {"grant_type": "client_credentials"}, HTTP_AUTHORIZATION=authorization,
                               REMOTE_ADDR=ATTACKER)
        assert response.status_code == 401
    assert_throttled(client.post("/oauth/token", {"grant_type": "client_credentials"},
                                 HTTP_AUTHORIZATION=authorization, REMOTE_ADDR=ATTACKER))
    [event] = events()
    assert event.org is None
    assert "\x00" not in event.metadata["client_id"]
    assert len(event.metadata["client_id"]) <= Application._meta.get_field("client_id").max_length


@pytest.mark.parametrize("client_id", ["a\x00b", "c" * 20_000])
def test_junk_client_ids_in_the_body_reach_the_client_limit_without_500(client, org, client_id):
    for address in [f"10.1.{n}.1" for n in range(CLIENT_LIMIT)]:
        response = client.post("/oauth/introspect", {"token": "t", "client_id": client_id, "client_secret": "x"},
                               REMOTE_ADDR=address)
        assert response.status_code == 401
    assert_throttled(client.post("/oauth/introspect", {"token": "t", "client_id": client_id, "client_secret": "x"},
                                 REMOTE_ADDR="10.1.0.1"))
    [event] = events()
    assert event.metadata["limit"] == "client"
    assert event.org is None


def test_the_process_memory_is_bounded(client, org, monkeypatch):
    monkeypatch.setattr(throttle, "MEMORY_SIZE", 2)
    monkeypatch.setattr(throttle, "IP_LIMIT", 1)
    for address in ("10.2.0.1", "10.2.0.2", "10.2.0.3"):
        assert token(client, f"nobody-{address}", "x", address).status_code == 401
    assert list(throttle._blocked_ips) == ["10.2.0.2", "10.2.0.3"]
    # The forgotten address gets one more attempt, whose failure teaches the process again.
    assert token(client, "someone", "x", "10.2.0.1").status_code == 401
    assert token(client, "someone-else", "x", "10.2.0.1").status_code == 429


def test_counters_cleared_behind_the_processes_back_free_a_remembered_address(client, org, counter_backend):
    machine = make_machine_app(org)
    for n in range(IP_LIMIT):
        token(client, f"unknown-{n}", "wrong", ATTACKER)
    assert_throttled(token(client, machine.client_id, machine.client_secret, ATTACKER))
    counter_backend.clear()  # the shared counters are the truth, not the process's memory

    assert token(client, machine.client_id, machine.client_secret, ATTACKER).status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert token(client, machine.client_id, machine.client_secret, ATTACKER).status_code == 200
    assert len(queries.captured_queries) == 2
